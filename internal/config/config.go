// Package config is the one way every paycycle binary reads its settings: command-line flags
// whose defaults come from environment variables (12-factor), and secrets from the environment
// only. It is strict: a variable that is set but does not parse (BILLING_DEMO_MODE=yes, a
// duration without a unit) stops the binary at start with the variable's name and the form it
// expects, instead of silently falling back to the default as the per-binary helpers used to.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Lookup reads one environment variable. Binaries pass os.LookupEnv; tests pass a map, so no
// test has to mutate the process environment.
type Lookup func(name string) (value string, ok bool)

// MapLookup returns a Lookup over m, for tests and for processes that build a child's
// environment.
func MapLookup(m map[string]string) Lookup {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// EnvError reports an environment variable whose value does not parse.
type EnvError struct {
	// Name is the variable.
	Name string
	// Value is what it held. Only typed settings are parsed, never secrets, so it may print.
	Value string
	// Want describes the accepted form.
	Want string
}

// Error names the variable, the value and the expected form.
func (e *EnvError) Error() string {
	return fmt.Sprintf("environment variable %s=%q is not valid: want %s", e.Name, e.Value, e.Want)
}

// Set registers flags on a flag.FlagSet with defaults from the environment and collects every
// variable that did not parse; Parse reports them all at once.
type Set struct {
	fs     *flag.FlagSet
	lookup Lookup
	errs   []error
}

// New returns a Set over fs reading variables through lookup (os.LookupEnv when nil).
func New(fs *flag.FlagSet, lookup Lookup) *Set {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	return &Set{fs: fs, lookup: lookup}
}

// FlagSet returns the underlying flag set, for flags that have no environment variable.
func (s *Set) FlagSet() *flag.FlagSet { return s.fs }

// Env returns a variable's value, trimmed; an empty value counts as unset, as in most shells'
// habit of writing VAR= to clear a setting.
func (s *Set) Env(name string) (string, bool) {
	if name == "" {
		return "", false
	}
	v, ok := s.lookup(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

// Secret returns a secret from the environment. Secrets never get a flag: flags show in ps.
func (s *Set) Secret(name string) string {
	v, _ := s.lookup(name)
	return strings.TrimSpace(v)
}

func (s *Set) bad(name, value, want string) {
	s.errs = append(s.errs, &EnvError{Name: name, Value: value, Want: want})
}

func usageWithEnv(usage, env string) string {
	if env == "" {
		return usage
	}
	return usage + " (env " + env + ")"
}

// String registers a string flag defaulting to env, then def.
func (s *Set) String(p *string, name, env, def, usage string) {
	if v, ok := s.Env(env); ok {
		def = v
	}
	s.fs.StringVar(p, name, def, usageWithEnv(usage, env))
}

// Bool registers a boolean flag defaulting to env (true/false, 1/0), then def.
func (s *Set) Bool(p *bool, name, env string, def bool, usage string) {
	if v, ok := s.Env(env); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			s.bad(env, v, "true or false")
		} else {
			def = b
		}
	}
	s.fs.BoolVar(p, name, def, usageWithEnv(usage, env))
}

// Duration registers a duration flag defaulting to env (Go syntax: 90s, 15m, 1h30m), then def.
func (s *Set) Duration(p *time.Duration, name, env string, def time.Duration, usage string) {
	if v, ok := s.Env(env); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			s.bad(env, v, "a duration with a unit, such as 90s, 15m or 1h30m")
		} else {
			def = d
		}
	}
	s.fs.DurationVar(p, name, def, usageWithEnv(usage, env))
}

// Int registers an integer flag defaulting to env, then def.
func (s *Set) Int(p *int, name, env string, def int, usage string) {
	if v, ok := s.Env(env); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			s.bad(env, v, "a whole number")
		} else {
			def = n
		}
	}
	s.fs.IntVar(p, name, def, usageWithEnv(usage, env))
}

// Float64 registers a decimal flag defaulting to env, then def.
func (s *Set) Float64(p *float64, name, env string, def float64, usage string) {
	if v, ok := s.Env(env); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			s.bad(env, v, "a number, such as 20 or 2.5")
		} else {
			def = f
		}
	}
	s.fs.Float64Var(p, name, def, usageWithEnv(usage, env))
}

// URL registers a URL flag defaulting to env, then def; empty means unset. A value, from the
// environment or the command line, must be an absolute http(s) URL with a host and without user
// info or a fragment: the settings it serves (a webhook URL given to PortOne, an API origin, an
// issuer) are used long after start, when the first scheduled charge or login finds them
// unusable. An environment error shows the value without its query (it may carry a token).
func (s *Set) URL(p *string, name, env, def, usage string) {
	s.checked(p, name, env, def, usage, urlForm)
}

// Addr registers a listen-address flag defaulting to env, then def; empty means unset (off). A
// value, from the environment or the command line, must be host:port with a numeric port (an
// empty host listens on every interface): a listener the binary opens only once it has
// connected to Temporal would otherwise fail after the worker had begun polling.
func (s *Set) Addr(p *string, name, env, def, usage string) {
	s.checked(p, name, env, def, usage, addrForm)
}

// form is the accepted form of a checked string setting.
type form struct {
	// want describes it, for error messages.
	want string
	// ok reports whether a non-empty value has it.
	ok func(v string) bool
	// shown is a refused value as it may be printed.
	shown func(v string) string
}

var (
	urlForm = form{
		want: "an absolute http(s) URL with a host, such as https://pay.example.com/portone/webhook (no user info or fragment)",
		ok: func(v string) bool {
			u, err := url.Parse(v)
			return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil && u.Fragment == ""
		},
		shown: redactURL,
	}
	addrForm = form{
		want: "host:port with a numeric port, such as 127.0.0.1:7790 or :7790",
		ok: func(v string) bool {
			_, port, err := net.SplitHostPort(v)
			if err != nil {
				return false
			}
			_, err = strconv.ParseUint(port, 10, 16)
			return err == nil
		},
		shown: func(v string) string { return v },
	}
)

// check reports whether v has the form ("" is unset and passes).
func (f form) check(v string) error {
	if v != "" && !f.ok(v) {
		return errors.New("want " + f.want)
	}
	return nil
}

// checked registers a string flag of the given form defaulting to env, then def: a malformed
// variable is collected for Parse, a malformed flag refused by the flag package.
func (s *Set) checked(p *string, name, env, def, usage string, f form) {
	if v, ok := s.Env(env); ok {
		if f.check(v) != nil {
			s.bad(env, f.shown(v), f.want)
		} else {
			def = v
		}
	}
	*p = def
	s.fs.Var(&checkedValue{p: p, f: f}, name, usageWithEnv(usage, env))
}

// redactURL drops what may be secret from a malformed URL before it is printed: its query, and
// with user info everything after the scheme.
func redactURL(v string) string {
	if i := strings.IndexByte(v, '?'); i >= 0 {
		v = v[:i] + "…"
	}
	if strings.Contains(v, "@") {
		if i := strings.Index(v, "://"); i >= 0 {
			return v[:i+3] + "…"
		}
		return "…"
	}
	return v
}

// checkedValue is a flag.Value that refuses a value without its form on the command line too.
type checkedValue struct {
	p *string
	f form
}

func (c *checkedValue) String() string {
	if c == nil || c.p == nil {
		return "" // the flag package's zero value, for its usage text
	}
	return *c.p
}

func (c *checkedValue) Set(v string) error {
	v = strings.TrimSpace(v)
	if err := c.f.check(v); err != nil {
		return err
	}
	*c.p = v
	return nil
}

// Err returns every environment error collected so far (nil when none).
func (s *Set) Err() error { return errors.Join(s.errs...) }

// Parse parses args and then reports the environment errors: a bad variable refuses to start
// even when a flag overrides it, because it is a deployment mistake waiting for the day the
// flag goes away. flag.ErrHelp passes through unchanged.
func (s *Set) Parse(args []string) error {
	if err := s.fs.Parse(args); err != nil {
		return err
	}
	return s.Err()
}
