package testlogs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeT is a test whose outcome the test decides, with its cleanups run on demand.
type fakeT struct {
	testing.TB
	name     string
	failed   bool
	cleanups []func()
	logs     []string
	tmp      string
}

func (f *fakeT) Name() string                    { return f.name }
func (f *fakeT) Failed() bool                    { return f.failed }
func (f *fakeT) Cleanup(fn func())               { f.cleanups = append(f.cleanups, fn) }
func (f *fakeT) Logf(format string, args ...any) { f.logs = append(f.logs, format) }
func (f *fakeT) TempDir() string                 { return f.tmp }
func (f *fakeT) Helper()                         {}
func (f *fakeT) end() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

// TestLogsKeptOnlyWhenTheTestFails: a passing test's logs are removed, a failing test's stay
// under $ARTIFACTS_DIR/logs named after the package and the test (a subtest's slash made safe),
// and a second log of the same name gets its own file.
func TestLogsKeptOnlyWhenTheTestFails(t *testing.T) {
	for _, tt := range []struct {
		name   string
		failed bool
	}{{"TestPasses", false}, {"TestFails/sub case", true}} {
		t.Run(tt.name, func(t *testing.T) {
			art := t.TempDir()
			t.Setenv("ARTIFACTS_DIR", art)
			ft := &fakeT{TB: t, name: tt.name, failed: tt.failed, tmp: t.TempDir()}
			path, err := File(ft, "server")
			require.NoError(t, err)
			second, err := File(ft, "server")
			require.NoError(t, err)
			require.NotEqual(t, path, second)
			require.Equal(t, filepath.Join(art, Subdir), filepath.Dir(path))
			base := filepath.Base(path)
			require.True(t, strings.HasSuffix(base, "."+strings.NewReplacer("/", "_", " ", "_").Replace(tt.name)+".server.log"), base)
			require.NotContains(t, base, "/")
			w, err := Writer(ft, path)
			require.NoError(t, err)
			_, err = w.Write([]byte("Failing the workflow task.\n"))
			require.NoError(t, err)
			ft.end()
			b, err := os.ReadFile(path)
			if tt.failed {
				require.NoError(t, err)
				require.Equal(t, "Failing the workflow task.\n", string(b))
				require.NotEmpty(t, ft.logs)
			} else {
				require.True(t, os.IsNotExist(err), "a passing test's log is removed: %v", err)
			}
		})
	}
}

// TestKeepCopiesAFailingTestsLog: a child process's log in a directory the test removes is
// copied to the artifacts when the test fails, and not when it passes.
func TestKeepCopiesAFailingTestsLog(t *testing.T) {
	for _, failed := range []bool{false, true} {
		art := t.TempDir()
		t.Setenv("ARTIFACTS_DIR", art)
		src := filepath.Join(t.TempDir(), "worker.log")
		require.NoError(t, os.WriteFile(src, []byte("standin worker: listening\n"), 0o644))
		ft := &fakeT{TB: t, name: "TestDevstack", failed: failed, tmp: t.TempDir()}
		Keep(ft, "devserver-worker", src)
		ft.end()
		kept, _ := filepath.Glob(filepath.Join(art, Subdir, "*TestDevstack.devserver-worker.log"))
		if failed {
			require.Len(t, kept, 1)
		} else {
			require.Empty(t, kept)
		}
	}
}

func TestTail(t *testing.T) {
	require.Equal(t, "c\nd", Tail("a\nb\nc\nd\n", 2))
	require.Equal(t, "a", Tail("a", 5))
}
