// Package signedlink is the one scheme for the links paycycle hands to customers: the
// registration page and the self-service cancel page. A link carries a purpose, a subscription
// ID and an expiry, authenticated with HMAC-SHA256 under a server secret, so that knowing (or
// guessing) a subscription ID opens nothing, a link for one page never opens another, and a link
// stops working at its expiry. The edge verifies links; the starter mints them with the same
// code, which is why this lives in its own package with no dependency but the standard library.
//
// A token is base64url(payload) "." base64url(mac), where payload is
// purpose "\n" subscription ID "\n" expiry (Unix seconds, decimal) and mac is
// HMAC-SHA256(secret, "paycycle-link-v1\n" payload). The version prefix lets a later scheme
// never accept this one's MACs by accident.
//
// Secrets rotate without downtime: a Keys holds several, the first signs, every one verifies.
// Add the new secret first, wait for the old links to expire (or not), then drop the old one.
package signedlink

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// EnvSecret is the environment variable holding the link secrets, comma-separated, the signing
// one first. It is read from the environment only: a flag would show it in ps.
const EnvSecret = "PAYCYCLE_LINK_SECRET"

// MinSecretLen is the shortest secret accepted, in bytes: 32 bytes is HMAC-SHA256's block of
// security, and `openssl rand -base64 32` (44 characters) clears it.
const MinSecretLen = 32

// MaxSecrets bounds how many secrets one deployment may carry; rotation needs two, a few more
// is a mistake worth refusing early (each one costs an HMAC per failed verification).
const MaxSecrets = 8

// MaxTTL is the longest a link may live. A link is a bearer credential sent by e-mail or text
// message; a year-old one found in a mailbox should not cancel anything.
const MaxTTL = 90 * 24 * time.Hour

// macPrefix versions the scheme inside the MAC itself.
const macPrefix = "paycycle-link-v1\n"

// Purpose says which page a link opens. It is inside the MAC, so a registration link can never
// be replayed against the cancel page.
type Purpose string

// Purposes.
const (
	// Manage opens the self-service page: see what is paid, cancel at period end or now.
	Manage Purpose = "manage"
	// Register opens the NaverPay recurring-payment registration page.
	Register Purpose = "register"
)

// Valid reports whether p is one of the purposes above.
func (p Purpose) Valid() bool { return p == Manage || p == Register }

// ParsePurpose reads a purpose as a person types it (for the starter's -purpose).
func ParsePurpose(s string) (Purpose, error) {
	p := Purpose(strings.ToLower(strings.TrimSpace(s)))
	if !p.Valid() {
		return "", fmt.Errorf("purpose %q: want %q or %q", s, Manage, Register)
	}
	return p, nil
}

// Route is the path, below the edge's public URL, that serves a purpose's links; the token
// follows it. The edge registers its routes from these, so that minted links and served routes
// cannot drift apart.
func (p Purpose) Route() string { return "/" + string(p) + "/" }

// URL returns the customer-facing link: publicURL (the edge's base URL, without a trailing
// slash) + the purpose's route + the token.
func URL(publicURL string, p Purpose, token string) string {
	return strings.TrimRight(publicURL, "/") + p.Route() + token
}

// Errors of Verify. The edge answers each with its own page and status, so they are distinct.
var (
	// ErrMalformed: not a token at all (a bare subscription ID, a truncated copy-paste).
	ErrMalformed = errors.New("signedlink: malformed link")
	// ErrBadSignature: well-formed, but no secret signed it (tampered, forged, or signed with a
	// secret that has since been dropped).
	ErrBadSignature = errors.New("signedlink: the link's signature does not verify")
	// ErrWrongPurpose: genuine, but for another page.
	ErrWrongPurpose = errors.New("signedlink: the link is for another page")
	// ErrExpired: genuine, but past its expiry.
	ErrExpired = errors.New("signedlink: the link has expired")
)

// Link is what a verified token says.
type Link struct {
	Purpose        Purpose
	SubscriptionID string
	Expires        time.Time
}

// Keys signs and verifies links. The zero value has no secret and refuses both.
type Keys struct {
	secrets [][]byte
}

// ParseSecrets reads the value of EnvSecret: comma-separated secrets, the signing one first,
// each at least MinSecretLen bytes after trimming spaces. It refuses an empty list, an empty
// item, a short secret, a duplicate and more than MaxSecrets, and never repeats a secret in its
// errors.
func ParseSecrets(value string) (*Keys, error) {
	if strings.TrimSpace(value) == "" {
		return nil, fmt.Errorf("%s is empty: set it to a random secret of at least %d bytes (openssl rand -base64 32)", EnvSecret, MinSecretLen)
	}
	parts := strings.Split(value, ",")
	if len(parts) > MaxSecrets {
		return nil, fmt.Errorf("%s holds %d secrets; at most %d (rotation needs two)", EnvSecret, len(parts), MaxSecrets)
	}
	k := &Keys{}
	seen := map[string]bool{}
	for i, p := range parts {
		p = strings.TrimSpace(p)
		switch {
		case p == "":
			return nil, fmt.Errorf("%s: secret %d of %d is empty (a stray comma?)", EnvSecret, i+1, len(parts))
		case len(p) < MinSecretLen:
			return nil, fmt.Errorf("%s: secret %d of %d is %d bytes; at least %d are required (openssl rand -base64 32)", EnvSecret, i+1, len(parts), len(p), MinSecretLen)
		case seen[p]:
			return nil, fmt.Errorf("%s: secret %d of %d repeats an earlier one", EnvSecret, i+1, len(parts))
		}
		seen[p] = true
		k.secrets = append(k.secrets, []byte(p))
	}
	return k, nil
}

// NewKeys returns Keys over raw secrets (the first signs), with ParseSecrets' rules; for
// programs that hold secrets already split, such as tests and an ephemeral demo secret.
func NewKeys(secrets ...string) (*Keys, error) {
	for _, s := range secrets {
		if strings.Contains(s, ",") {
			return nil, fmt.Errorf("signedlink: a secret must not contain a comma (the list separator of %s)", EnvSecret)
		}
	}
	return ParseSecrets(strings.Join(secrets, ","))
}

// Len returns the number of secrets that verify.
func (k *Keys) Len() int {
	if k == nil {
		return 0
	}
	return len(k.secrets)
}

// Sign returns the token for purpose p and subscription subID, valid until expires. The
// subscription ID must be non-empty, at most 128 bytes and free of newlines and control
// characters (the payload separator); the expiry must be in the future as seen by now and no
// further than MaxTTL.
func (k *Keys) Sign(p Purpose, subID string, expires, now time.Time) (string, error) {
	if k.Len() == 0 {
		return "", fmt.Errorf("signedlink: no secret to sign with (set %s)", EnvSecret)
	}
	if !p.Valid() {
		return "", fmt.Errorf("signedlink: unknown purpose %q", p)
	}
	if err := checkSubscriptionID(subID); err != nil {
		return "", err
	}
	switch ttl := expires.Sub(now); {
	case ttl <= 0:
		return "", fmt.Errorf("signedlink: expiry %s is not in the future", expires.UTC().Format(time.RFC3339))
	case ttl > MaxTTL+time.Second: // a second of slack for callers that round
		return "", fmt.Errorf("signedlink: a link may live at most %s, not %s", MaxTTL, ttl.Round(time.Second))
	}
	payload := string(p) + "\n" + subID + "\n" + strconv.FormatInt(expires.Unix(), 10)
	mac := sum(k.secrets[0], macPrefix+payload)
	return b64.EncodeToString([]byte(payload)) + "." + b64.EncodeToString(mac), nil
}

// Verify checks a token for purpose want at instant now and returns what it says. The
// signature is checked first, against every secret, in constant time per secret; only a genuine
// token's purpose and expiry are then read, so an attacker learns nothing from which error comes
// back except that the token is not genuine.
func (k *Keys) Verify(token string, want Purpose, now time.Time) (Link, error) {
	if k.Len() == 0 {
		return Link{}, fmt.Errorf("signedlink: no secret to verify with (set %s)", EnvSecret)
	}
	// A token is at most a few hundred bytes; refusing longer input early bounds the work.
	if len(token) == 0 || len(token) > 512 {
		return Link{}, ErrMalformed
	}
	enc, encMAC, ok := strings.Cut(token, ".")
	if !ok {
		return Link{}, ErrMalformed
	}
	raw, err1 := b64.DecodeString(enc)
	mac, err2 := b64.DecodeString(encMAC)
	if err1 != nil || err2 != nil || len(mac) != sha256.Size {
		return Link{}, ErrMalformed
	}
	payload := string(raw)
	genuine := false
	for _, s := range k.secrets {
		if hmac.Equal(sum(s, macPrefix+payload), mac) {
			genuine = true
			break
		}
	}
	if !genuine {
		return Link{}, ErrBadSignature
	}
	fields := strings.Split(payload, "\n")
	if len(fields) != 3 {
		return Link{}, ErrMalformed // signed by us, so only by a bug; still refused
	}
	exp, err := strconv.ParseInt(fields[2], 10, 64)
	if err != nil {
		return Link{}, ErrMalformed
	}
	l := Link{Purpose: Purpose(fields[0]), SubscriptionID: fields[1], Expires: time.Unix(exp, 0).UTC()}
	if l.Purpose != want {
		return l, ErrWrongPurpose
	}
	if !now.Before(l.Expires) {
		return l, ErrExpired
	}
	return l, nil
}

// MAC returns HMAC-SHA256 under the signing secret of a domain-separated message, for the
// edge's other short-lived values tied to a link (the cancel form's nonce). domain must be
// distinct per use so that no MAC of one kind is accepted as another; "link" is the links' own
// and refused here.
func (k *Keys) MAC(domain, msg string) []byte {
	if k.Len() == 0 || domain == "link" {
		return nil
	}
	return sum(k.secrets[0], "paycycle-"+domain+"-v1\n"+msg)
}

// CheckMAC reports whether mac is MAC(domain, msg) under any secret, so a form rendered just
// before a rotation still submits.
func (k *Keys) CheckMAC(domain, msg string, mac []byte) bool {
	if k.Len() == 0 || domain == "link" || len(mac) != sha256.Size {
		return false
	}
	ok := false
	for _, s := range k.secrets {
		if hmac.Equal(sum(s, "paycycle-"+domain+"-v1\n"+msg), mac) {
			ok = true
		}
	}
	return ok
}

var b64 = base64.RawURLEncoding

// sum is HMAC-SHA256 of msg. Every caller prefixes a domain ("paycycle-link-v1\n" for links,
// "paycycle-<domain>-v1\n" for MAC), so that no MAC made for one use verifies for another.
func sum(secret []byte, msg string) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

func checkSubscriptionID(id string) error {
	if id == "" || len(id) > 128 {
		return fmt.Errorf("signedlink: the subscription ID must be 1 to 128 bytes")
	}
	for _, c := range id {
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("signedlink: the subscription ID must not contain control characters")
		}
	}
	return nil
}
