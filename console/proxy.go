package console

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"go.uber.org/zap"
)

// ProxyConfig trusts an identity header set by a company SSO proxy (oauth2-proxy, Pomerium,
// an nginx auth_request): off unless configured, and then only on connections whose peer
// address is in Trusted, since any client reaching the console directly can send any header.
type ProxyConfig struct {
	// Header names the staff member ("X-Forwarded-Email"); its value must be a valid login.
	Header string
	// RolesHeader, when set, lists roles (comma- or space-separated), each RolesPrefix followed
	// by viewer, operator or pii ("X-Forwarded-Groups").
	RolesHeader string
	RolesPrefix string
	// DefaultRoles are granted to everyone the proxy names. A login with no role is refused.
	DefaultRoles []Role
	// Trusted are the proxies' addresses; the TCP peer must be one of them (X-Forwarded-For is
	// never read).
	Trusted []netip.Prefix
}

// ParseTrusted reads "10.0.0.5, 10.1.0.0/16" into prefixes, naming a bad entry.
func ParseTrusted(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR prefix", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

func (p *ProxyConfig) check() error {
	if p.Header == "" {
		return errors.New("console: proxy mode needs the identity header's name")
	}
	if len(p.Trusted) == 0 {
		return errors.New("console: proxy mode needs the proxies' addresses: without them the identity header cannot be trusted")
	}
	for _, r := range p.DefaultRoles {
		if !slices.Contains(knownRoles, r) {
			return fmt.Errorf("console: proxy default roles: unknown role %q", r)
		}
	}
	return nil
}

// trusts reports whether the request came straight from a configured proxy.
func (p *ProxyConfig) trusts(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	return slices.ContainsFunc(p.Trusted, func(pr netip.Prefix) bool { return pr.Contains(a) })
}

func (p *ProxyConfig) roles(r *http.Request) []Role {
	var roles []Role
	add := func(x Role) {
		if !slices.Contains(roles, x) {
			roles = append(roles, x)
		}
	}
	if p.RolesHeader != "" {
		for _, v := range strings.FieldsFunc(r.Header.Get(p.RolesHeader), func(c rune) bool { return c == ',' || c == ' ' }) {
			if name, ok := strings.CutPrefix(v, p.RolesPrefix); ok && slices.Contains(knownRoles, Role(name)) {
				add(Role(name))
			}
		}
	}
	for _, x := range p.DefaultRoles {
		add(x)
	}
	if len(roles) > 0 {
		add(RoleViewer)
	}
	return roles
}

// proxySession returns the session of a request a trusted proxy names someone in, creating it
// (and its cookie) when the browser has none for that person; ok is false when the proxy mode
// does not apply (off, another peer, no header), and the ordinary session rules hold.
func (s *Server) proxySession(w http.ResponseWriter, r *http.Request) (ss *session, refused string, ok bool) {
	p := s.cfg.Proxy
	if p == nil {
		return nil, "", false
	}
	login := strings.TrimSpace(r.Header.Get(p.Header))
	if login == "" || !p.trusts(r) {
		return nil, "", false
	}
	if err := checkLogin(login); err != nil {
		return nil, "the proxy's identity header is not a login: " + err.Error(), true
	}
	roles := p.roles(r)
	if len(roles) == 0 {
		return nil, "no console role for " + login, true
	}
	if cur, ok := s.currentSession(r); ok && cur.Method == "proxy" && cur.Login == login && slices.Equal(cur.Roles, roles) {
		return cur, "", true
	}
	ss = s.sessions.create(login, roles, "proxy")
	s.setCookie(w, sessionCookie, ss.ID, s.cfg.SessionMax)
	s.log.Info("console: staff named by the SSO proxy", zap.String("login", login), zap.Strings("roles", roleStrings(roles)))
	return ss, "", true
}
