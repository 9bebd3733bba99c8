package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Role is what a staff session may do.
type Role string

// Roles. Every session needs RoleViewer at least; RoleOperator adds the subscription page's
// actions, RolePII the buyer's name, phone and email unmasked.
const (
	RoleViewer   Role = "viewer"
	RoleOperator Role = "operator"
	RolePII      Role = "pii"
)

// knownRoles are the roles a configuration or an identity provider may grant.
var knownRoles = []Role{RoleViewer, RoleOperator, RolePII}

// Staff is one configured login (the small merchant's alternative to an identity provider).
type Staff struct {
	Login string
	// Hash is a bcrypt hash of the password ($2a$, $2b$ or $2y$), never the password itself.
	Hash []byte
	// Roles are the login's roles; RoleViewer is implied.
	Roles []Role
}

// EnvStaff is the environment variable of the configured logins (environment only: it holds
// password hashes). Its form is ParseStaff's.
const EnvStaff = "PAYCYCLE_CONSOLE_STAFF"

// ParseStaff reads configured logins: entries separated by commas or whitespace, each
// "login:roles:bcrypt-hash", roles joined by "+" ("kim:operator+pii:$2a$10$..."). An empty
// roles field grants RoleViewer only. Errors name the entry and the field and never print a
// hash.
func ParseStaff(s string) ([]Staff, error) {
	var out []Staff
	seen := map[string]bool{}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
	for i, f := range fields {
		n := i + 1
		login, rest, ok := strings.Cut(f, ":")
		roles, hash, ok2 := strings.Cut(rest, ":")
		if !ok || !ok2 {
			return nil, fmt.Errorf("%s entry %d: want login:roles:bcrypt-hash", EnvStaff, n)
		}
		if err := checkLogin(login); err != nil {
			return nil, fmt.Errorf("%s entry %d: login: %w", EnvStaff, n, err)
		}
		if seen[login] {
			return nil, fmt.Errorf("%s entry %d: login %q is configured twice", EnvStaff, n, login)
		}
		seen[login] = true
		rs, err := parseRoles(roles)
		if err != nil {
			return nil, fmt.Errorf("%s entry %d (login %q): roles: %w", EnvStaff, n, login, err)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("%s entry %d (login %q): hash: not a bcrypt hash (make one with: consoleserver -hash-password)", EnvStaff, n, login)
		}
		out = append(out, Staff{Login: login, Hash: []byte(hash), Roles: rs})
	}
	return out, nil
}

// checkLogin keeps logins printable and short: they are written into audit trails.
func checkLogin(login string) error {
	if login == "" {
		return errors.New("is empty")
	}
	if len(login) > 64 {
		return fmt.Errorf("is %d bytes; at most 64", len(login))
	}
	for _, c := range login {
		ok := c == '.' || c == '_' || c == '-' || c == '@' || c == '+' ||
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if !ok {
			return fmt.Errorf("%q: only letters, digits and . _ - @ + are allowed", login)
		}
	}
	return nil
}

// parseRoles reads "operator+pii"; RoleViewer is always included.
func parseRoles(s string) ([]Role, error) {
	roles := []Role{RoleViewer}
	if s == "" {
		return roles, nil
	}
	for _, r := range strings.Split(s, "+") {
		role := Role(r)
		if !slices.Contains(knownRoles, role) {
			return nil, fmt.Errorf("unknown role %q (want viewer, operator or pii)", r)
		}
		if !slices.Contains(roles, role) {
			roles = append(roles, role)
		}
	}
	return roles, nil
}

// HashPassword returns the bcrypt hash of a password for ParseStaff's configuration.
func HashPassword(password string) (string, error) {
	if len(password) < 8 {
		return "", errors.New("password: at least 8 characters")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("password: %w", err)
	}
	return string(h), nil
}

// dummyHash is compared against when the login is unknown, so that a wrong login costs the
// same time as a wrong password and logins cannot be enumerated by timing.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a password of anyone"), bcrypt.DefaultCost)

// checkPassword returns the staff entry whose login and password match, or false.
func checkPassword(staff []Staff, login, password string) (Staff, bool) {
	for _, s := range staff {
		if subtle.ConstantTimeCompare([]byte(s.Login), []byte(login)) == 1 {
			return s, bcrypt.CompareHashAndPassword(s.Hash, []byte(password)) == nil
		}
	}
	_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password)) // same work as a real check
	return Staff{}, false
}

// session is one logged-in staff member, kept on the server: the cookie holds only its ID.
type session struct {
	ID      string
	Login   string
	Roles   []Role
	Method  string // "password", "oidc" or "proxy"
	CSRF    string
	Created time.Time
	Seen    time.Time
}

func (s *session) has(r Role) bool { return slices.Contains(s.Roles, r) }

// sessions is the in-memory session store. A restart logs everyone out, which is what a staff
// tool may do; several replicas need sticky sessions (docs/console.md).
type sessions struct {
	mu       sync.Mutex
	byID     map[string]*session
	idle     time.Duration
	absolute time.Duration
	now      func() time.Time
}

func newSessions(idle, absolute time.Duration, now func() time.Time) *sessions {
	return &sessions{byID: map[string]*session{}, idle: idle, absolute: absolute, now: now}
}

// randomToken returns 32 random bytes, base64url: session IDs, CSRF tokens, OIDC state.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for login with roles.
func (s *sessions) create(login string, roles []Role, method string) *session {
	now := s.now()
	ss := &session{ID: randomToken(), Login: login, Roles: roles, Method: method, CSRF: randomToken(), Created: now, Seen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
	s.byID[ss.ID] = ss
	return ss
}

// get returns the live session with id and marks it seen; an expired one is deleted.
func (s *sessions) get(id string) (*session, bool) {
	if id == "" {
		return nil, false
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.byID[id]
	if !ok {
		return nil, false
	}
	if s.expired(ss, now) {
		delete(s.byID, id)
		return nil, false
	}
	ss.Seen = now
	cp := *ss
	return &cp, true
}

func (s *sessions) expired(ss *session, now time.Time) bool {
	return now.Sub(ss.Seen) > s.idle || now.Sub(ss.Created) > s.absolute
}

// sweepLocked drops expired sessions; it runs on every login, which bounds the map by the
// logins of one absolute lifetime.
func (s *sessions) sweepLocked(now time.Time) {
	for id, ss := range s.byID {
		if s.expired(ss, now) {
			delete(s.byID, id)
		}
	}
}

func (s *sessions) delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// csrfOK compares a submitted token with the session's in constant time.
func csrfOK(ss *session, token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(ss.CSRF), []byte(token)) == 1
}
