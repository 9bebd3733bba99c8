package signedlink_test

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paycycle/paycycle/internal/signedlink"
)

const (
	secretA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" // 44 bytes, like openssl rand -base64 32
	secretB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func keys(t *testing.T, secrets ...string) *signedlink.Keys {
	t.Helper()
	k, err := signedlink.NewKeys(secrets...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sign(t *testing.T, k *signedlink.Keys, p signedlink.Purpose, sub string, ttl time.Duration) string {
	t.Helper()
	tok, err := k.Sign(p, sub, now.Add(ttl), now)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestRoundTrip(t *testing.T) {
	k := keys(t, secretA)
	tok := sign(t, k, signedlink.Manage, "sub-1", time.Hour)
	if strings.Contains(tok, "sub-1") {
		t.Fatalf("the token shows the subscription ID in clear: %s", tok)
	}
	l, err := k.Verify(tok, signedlink.Manage, now.Add(59*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if l.SubscriptionID != "sub-1" || l.Purpose != signedlink.Manage || !l.Expires.Equal(now.Add(time.Hour)) {
		t.Fatalf("got %+v", l)
	}
}

func TestExpiry(t *testing.T) {
	k := keys(t, secretA)
	tok := sign(t, k, signedlink.Manage, "sub-1", time.Hour)
	for _, at := range []time.Time{now.Add(time.Hour), now.Add(time.Hour + time.Second), now.Add(400 * 24 * time.Hour)} {
		if _, err := k.Verify(tok, signedlink.Manage, at); !errors.Is(err, signedlink.ErrExpired) {
			t.Fatalf("at %s: err = %v, want ErrExpired", at, err)
		}
	}
}

func TestTamperingIsRefused(t *testing.T) {
	k := keys(t, secretA)
	tok := sign(t, k, signedlink.Manage, "sub-1", time.Hour)
	enc, mac, _ := strings.Cut(tok, ".")
	forge := func(payload string) string {
		return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + mac
	}
	exp := now.Add(time.Hour).Unix()
	cases := map[string]string{
		"another subscription":  forge("manage\nsub-2\n" + itoa(exp)),
		"a later expiry":        forge("manage\nsub-1\n" + itoa(exp+86400)),
		"another purpose":       forge("register\nsub-1\n" + itoa(exp)),
		"a flipped MAC bit":     enc + "." + flip(mac),
		"a MAC from elsewhere":  sign(t, keys(t, secretB), signedlink.Manage, "sub-1", time.Hour),
		"the MAC of another ID": strings.SplitN(sign(t, k, signedlink.Manage, "sub-2", time.Hour), ".", 2)[0] + "." + mac,
	}
	for name, forged := range cases {
		if _, err := k.Verify(forged, signedlink.Manage, now); !errors.Is(err, signedlink.ErrBadSignature) {
			t.Errorf("%s: err = %v, want ErrBadSignature", name, err)
		}
	}
}

func TestMalformed(t *testing.T) {
	k := keys(t, secretA)
	for _, tok := range []string{"", "sub-1", "sub-1.", ".abc", "!!!.???", strings.Repeat("a", 600) + ".b",
		base64.RawURLEncoding.EncodeToString([]byte("manage\nsub-1\n1")) + "." + base64.RawURLEncoding.EncodeToString([]byte("short"))} {
		if _, err := k.Verify(tok, signedlink.Manage, now); !errors.Is(err, signedlink.ErrMalformed) {
			t.Errorf("%q: err = %v, want ErrMalformed", tok, err)
		}
	}
}

func TestWrongPurpose(t *testing.T) {
	k := keys(t, secretA)
	tok := sign(t, k, signedlink.Register, "sub-1", time.Hour)
	if _, err := k.Verify(tok, signedlink.Manage, now); !errors.Is(err, signedlink.ErrWrongPurpose) {
		t.Fatalf("a registration link opened the manage page: %v", err)
	}
	if _, err := k.Verify(tok, signedlink.Register, now); err != nil {
		t.Fatal(err)
	}
}

func TestRotation(t *testing.T) {
	old := keys(t, secretA)
	oldTok := sign(t, old, signedlink.Manage, "sub-1", time.Hour)
	rotated := keys(t, secretB, secretA) // the new secret first: it signs, the old one still verifies
	if _, err := rotated.Verify(oldTok, signedlink.Manage, now); err != nil {
		t.Fatalf("a link signed before the rotation: %v", err)
	}
	newTok := sign(t, rotated, signedlink.Manage, "sub-1", time.Hour)
	if _, err := keys(t, secretB).Verify(newTok, signedlink.Manage, now); err != nil {
		t.Fatalf("the first secret did not sign: %v", err)
	}
	if _, err := old.Verify(newTok, signedlink.Manage, now); !errors.Is(err, signedlink.ErrBadSignature) {
		t.Fatalf("the old secret alone verified a link signed with the new one: %v", err)
	}
	if _, err := keys(t, secretB).Verify(oldTok, signedlink.Manage, now); !errors.Is(err, signedlink.ErrBadSignature) {
		t.Fatalf("a dropped secret still verifies: %v", err)
	}
}

func TestParseSecrets(t *testing.T) {
	good := []string{secretA, " " + secretA + " , " + secretB}
	for _, v := range good {
		k, err := signedlink.ParseSecrets(v)
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		if k.Len() != strings.Count(v, ",")+1 {
			t.Fatalf("%q: %d secrets", v, k.Len())
		}
	}
	bad := map[string]string{
		"":                                       "empty",
		"   ":                                    "empty",
		"short":                                  "at least 32",
		secretA + ",":                            "empty",
		secretA + "," + secretA:                  "repeats",
		strings.Repeat(secretA+",", 8) + secretB: "at most",
	}
	for v, want := range bad {
		_, err := signedlink.ParseSecrets(v)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want it to say %q", v, err, want)
			continue
		}
		if strings.Contains(err.Error(), secretA) || strings.Contains(err.Error(), "short") && v == "short" {
			t.Errorf("%q: the error repeats the secret: %v", v, err)
		}
	}
	if _, err := signedlink.NewKeys(secretA + "," + secretB); err == nil {
		t.Fatal("NewKeys accepted a secret with a comma")
	}
}

func TestSignRefuses(t *testing.T) {
	k := keys(t, secretA)
	cases := map[string]func() error{
		"no secret": func() error {
			_, err := (&signedlink.Keys{}).Sign(signedlink.Manage, "s", now.Add(time.Hour), now)
			return err
		},
		"bad purpose":   func() error { _, err := k.Sign("admin", "s", now.Add(time.Hour), now); return err },
		"empty ID":      func() error { _, err := k.Sign(signedlink.Manage, "", now.Add(time.Hour), now); return err },
		"newline in ID": func() error { _, err := k.Sign(signedlink.Manage, "a\nb", now.Add(time.Hour), now); return err },
		"past expiry":   func() error { _, err := k.Sign(signedlink.Manage, "s", now, now); return err },
		"too long": func() error {
			_, err := k.Sign(signedlink.Manage, "s", now.Add(signedlink.MaxTTL+time.Hour), now)
			return err
		},
	}
	for name, f := range cases {
		if f() == nil {
			t.Errorf("%s: signed", name)
		}
	}
	if _, err := (&signedlink.Keys{}).Verify("a.b", signedlink.Manage, now); err == nil {
		t.Fatal("verified without a secret")
	}
}

func TestMACDomains(t *testing.T) {
	k := keys(t, secretB, secretA)
	mac := k.MAC("form", "tok\nnonce")
	if !k.CheckMAC("form", "tok\nnonce", mac) {
		t.Fatal("own MAC refused")
	}
	if k.CheckMAC("other", "tok\nnonce", mac) || k.CheckMAC("form", "tok\nnonce2", mac) {
		t.Fatal("a MAC verified for another domain or message")
	}
	if !keys(t, secretC(), secretB).CheckMAC("form", "tok\nnonce", mac) {
		t.Fatal("a MAC made before a rotation was refused")
	}
	if k.MAC("link", "x") != nil || k.CheckMAC("link", "x", make([]byte, 32)) {
		t.Fatal("the links' own domain was usable through MAC")
	}
}

func TestPurposeHelpers(t *testing.T) {
	if p, err := signedlink.ParsePurpose(" Manage "); err != nil || p != signedlink.Manage {
		t.Fatalf("%q %v", p, err)
	}
	if _, err := signedlink.ParsePurpose("cancel"); err == nil {
		t.Fatal("parsed an unknown purpose")
	}
	if got := signedlink.URL("https://b.example.com/billing/", signedlink.Register, "T"); got != "https://b.example.com/billing/register/T" {
		t.Fatal(got)
	}
}

func secretC() string { return strings.Repeat("c", 40) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func flip(s string) string {
	b, _ := base64.RawURLEncoding.DecodeString(s)
	b[0] ^= 1
	return base64.RawURLEncoding.EncodeToString(b)
}
