//go:build !unix

package localtemporal

// LockFileName is the lock file inside the data dir (not used on this platform).
const LockFileName = "temporal.lock"

// dirLock does nothing where flock is unavailable: the port check still stops the common case of
// two servers with the same settings.
type dirLock struct{}

func lockDir(string) (*dirLock, error) { return &dirLock{}, nil }

func (*dirLock) release() error { return nil }
