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
	return s, &v
}

func TestEnvDefaultsAndFlagsOverride(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want settings
	}{
		{"defaults", nil, nil, settings{false, 15 * time.Second, 200, "https://api.iamport.kr", 20}},
		{"env", map[string]string{"BILLING_DEMO_MODE": "true", "PORTONE_TIMEOUT": "2s", "MAX": "7", "PORTONE_BASE_URL": "http://127.0.0.1:1"}, nil,
			settings{true, 2 * time.Second, 7, "http://127.0.0.1:1", 20}},
		{"empty env is unset", map[string]string{"BILLING_DEMO_MODE": "", "PORTONE_TIMEOUT": " "}, nil,
			settings{false, 15 * time.Second, 200, "https://api.iamport.kr", 20}},
		{"flags win", map[string]string{"BILLING_DEMO_MODE": "true", "MAX": "7"}, []string{"-demo=false", "-max", "9"},
			settings{false, 15 * time.Second, 9, "https://api.iamport.kr", 20}},
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
	if n != 5 { // demo, timeout, max, url, rate
		t.Fatalf("Secret registered a flag: %d flags", n)
	}
}

func TestHelpPassesThrough(t *testing.T) {
	s, _ := register(nil)
	if err := s.Parse([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("Parse(-h) = %v, want flag.ErrHelp", err)
	}
}
