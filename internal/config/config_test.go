package config_test

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/paycycle/paycycle/internal/config"
)

type settings struct {
	demo    bool
	timeout time.Duration
	max     int
	url     string
	rate    float64
	notice  string
}

func register(env map[string]string) (*config.Set, *settings) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	s := config.New(fs, config.MapLookup(env))
	var v settings
	s.Bool(&v.demo, "demo", "BILLING_DEMO_MODE", false, "demo")
	s.Duration(&v.timeout, "timeout", "PORTONE_TIMEOUT", 15*time.Second, "timeout")
	s.Int(&v.max, "max", "MAX", 200, "max")
	s.String(&v.url, "url", "PORTONE_BASE_URL", "https://api.iamport.kr", "url")
	s.Float64(&v.rate, "rate", "BILLING_PORTONE_RATE", 20, "rate")
	s.URL(&v.notice, "notice-url", "BILLING_NOTICE_URL", "", "notice")
	return s, &v
}

func TestEnvDefaultsAndFlagsOverride(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want settings
	}{
		{"defaults", nil, nil, settings{false, 15 * time.Second, 200, "https://api.iamport.kr", 20, ""}},
		{"env", map[string]string{"BILLING_DEMO_MODE": "true", "PORTONE_TIMEOUT": "2s", "MAX": "7", "PORTONE_BASE_URL": "http://127.0.0.1:1"}, nil,
			settings{true, 2 * time.Second, 7, "http://127.0.0.1:1", 20, ""}},
		{"empty env is unset", map[string]string{"BILLING_DEMO_MODE": "", "PORTONE_TIMEOUT": " "}, nil,
			settings{false, 15 * time.Second, 200, "https://api.iamport.kr", 20, ""}},
		{"flags win", map[string]string{"BILLING_DEMO_MODE": "true", "MAX": "7"}, []string{"-demo=false", "-max", "9"},
			settings{false, 15 * time.Second, 9, "https://api.iamport.kr", 20, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, v := register(tt.env)
			if err := s.Parse(tt.args); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if *v != tt.want {
				t.Fatalf("got %+v, want %+v", *v, tt.want)
			}
		})
	}
}

func TestBadEnvValuesRefuseNamingTheVariable(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"bool", map[string]string{"BILLING_DEMO_MODE": "yes"}, nil, []string{`BILLING_DEMO_MODE="yes"`, "true or false"}},
		{"duration without unit", map[string]string{"PORTONE_TIMEOUT": "90"}, nil, []string{`PORTONE_TIMEOUT="90"`, "such as 90s"}},
		{"int", map[string]string{"MAX": "ten"}, nil, []string{`MAX="ten"`, "whole number"}},
		{"float", map[string]string{"BILLING_PORTONE_RATE": "20/s"}, nil, []string{`BILLING_PORTONE_RATE="20/s"`, "a number"}},
		{"even when a flag overrides it", map[string]string{"BILLING_DEMO_MODE": "yes"}, []string{"-demo"}, []string{"BILLING_DEMO_MODE"}},
		{"all at once", map[string]string{"BILLING_DEMO_MODE": "on", "MAX": "1.5"}, nil, []string{"BILLING_DEMO_MODE", "MAX"}},
		{"URL without a scheme", map[string]string{"BILLING_NOTICE_URL": "pay.example.com/portone/webhook"}, nil, []string{`BILLING_NOTICE_URL="pay.example.com/portone/webhook"`, "absolute http(s) URL"}},
		{"URL of another scheme", map[string]string{"BILLING_NOTICE_URL": "ftp://pay.example.com/hook"}, nil, []string{"BILLING_NOTICE_URL", "absolute http(s) URL"}},
		{"URL without a host", map[string]string{"BILLING_NOTICE_URL": "https:///portone/webhook"}, nil, []string{"BILLING_NOTICE_URL"}},
		{"URL with a fragment", map[string]string{"BILLING_NOTICE_URL": "https://pay.example.com/hook#x"}, nil, []string{"BILLING_NOTICE_URL"}},
		{"URL with user info, not echoed", map[string]string{"BILLING_NOTICE_URL": "https://user:pw@pay.example.com/hook"}, nil, []string{`BILLING_NOTICE_URL="https://…"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := register(tt.env)
			err := s.Parse(tt.args)
			if err == nil {
				t.Fatal("Parse accepted a malformed variable")
			}
			var envErr *config.EnvError
			if !errors.As(err, &envErr) {
				t.Fatalf("error %v is not an *EnvError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "pw@") {
				t.Errorf("error %q shows a URL's user info", err)
			}
		})
	}
}

// TestAddrSettings: a listen address is host:port with a numeric port, from the environment or
// the flag; empty is off; anything else is refused by name at start.
func TestAddrSettings(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    string
		wantErr string
	}{
		{name: "unset", want: ""},
		{name: "host and port", env: map[string]string{"BILLING_WORKER_HEALTH_ADDR": "127.0.0.1:7791"}, want: "127.0.0.1:7791"},
		{name: "every interface", env: map[string]string{"BILLING_WORKER_HEALTH_ADDR": ":7791"}, want: ":7791"},
		{name: "IPv6", env: map[string]string{"BILLING_WORKER_HEALTH_ADDR": "[::1]:0"}, want: "[::1]:0"},
		{name: "no port", env: map[string]string{"BILLING_WORKER_HEALTH_ADDR": "localhost"}, wantErr: `BILLING_WORKER_HEALTH_ADDR="localhost" is not valid: want host:port`},
		{name: "a named port", env: map[string]string{"BILLING_WORKER_HEALTH_ADDR": "localhost:http"}, wantErr: "BILLING_WORKER_HEALTH_ADDR"},
		{name: "a port too large", env: map[string]string{"BILLING_WORKER_HEALTH_ADDR": ":70000"}, wantErr: "BILLING_WORKER_HEALTH_ADDR"},
		{name: "a URL", env: map[string]string{"BILLING_WORKER_HEALTH_ADDR": "http://127.0.0.1:7791"}, wantErr: "BILLING_WORKER_HEALTH_ADDR"},
		{name: "a malformed flag", args: []string{"-health-addr", "7791"}, wantErr: "-health-addr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			s := config.New(fs, config.MapLookup(tt.env))
			var addr string
			s.Addr(&addr, "health-addr", "BILLING_WORKER_HEALTH_ADDR", "", "health")
			err := s.Parse(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse: got %v, want an error naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if addr != tt.want {
				t.Errorf("address = %q, want %q", addr, tt.want)
			}
		})
	}
}

// TestURLSettings: a URL setting is optional, read from the environment, overridden by its flag,
// and refused when malformed from either; a query is kept (a webhook URL may carry a token), and
// is not printed when the value is refused.
func TestURLSettings(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    string
		wantErr string
	}{
		{name: "unset", want: ""},
		{name: "from the environment", env: map[string]string{"BILLING_NOTICE_URL": " https://pay.example.com/portone/webhook "}, want: "https://pay.example.com/portone/webhook"},
		{name: "with a query", env: map[string]string{"BILLING_NOTICE_URL": "http://127.0.0.1:7791/hook?token=t0k"}, want: "http://127.0.0.1:7791/hook?token=t0k"},
		{name: "the flag overrides", env: map[string]string{"BILLING_NOTICE_URL": "https://a.example/h"}, args: []string{"-notice-url", "https://b.example/h"}, want: "https://b.example/h"},
		{name: "a malformed flag", args: []string{"-notice-url", "b.example/h"}, wantErr: "-notice-url"},
		{name: "a malformed value's query is not printed", env: map[string]string{"BILLING_NOTICE_URL": "mailto:x?token=t0k"}, wantErr: "BILLING_NOTICE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, v := register(tt.env)
			err := s.Parse(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse: got %v, want an error naming %s", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "t0k") {
					t.Errorf("error %q shows the query", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.notice != tt.want {
				t.Errorf("notice URL = %q, want %q", v.notice, tt.want)
			}
		})
	}
}

func TestUsageNamesTheVariableAndSecretsHaveNoFlag(t *testing.T) {
	s, _ := register(map[string]string{"PORTONE_API_SECRET": " s3cret\n"})
	f := s.FlagSet().Lookup("timeout")
	if f == nil || !strings.Contains(f.Usage, "(env PORTONE_TIMEOUT)") {
		t.Fatalf("usage %q does not name the variable", f.Usage)
	}
	if got := s.Secret("PORTONE_API_SECRET"); got != "s3cret" {
		t.Fatalf("Secret = %q", got)
	}
	n := 0
	s.FlagSet().VisitAll(func(*flag.Flag) { n++ })
	if n != 6 { // demo, timeout, max, url, rate, notice-url
		t.Fatalf("Secret registered a flag: %d flags", n)
	}
}

func TestHelpPassesThrough(t *testing.T) {
	s, _ := register(nil)
	if err := s.Parse([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("Parse(-h) = %v, want flag.ErrHelp", err)
	}
}
