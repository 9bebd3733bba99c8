// Package deploy holds the container and Kubernetes files; its test checks what enters the
// image build context.
package deploy

import (
	"os"
	"path"
	"strings"
	"testing"
)

// ignored reports whether a path (relative to the context root, slash-separated) is excluded
// by the patterns, with Docker's rules for the forms used here: "dir/" and "name" exclude that
// entry and everything below it, "**/x" matches x at any depth, "*" within one segment.
func ignored(patterns []string, p string) bool {
	out := false
	for _, pat := range patterns {
		neg := strings.HasPrefix(pat, "!")
		pat = strings.TrimSuffix(strings.TrimPrefix(pat, "!"), "/")
		if matches(pat, p) {
			out = !neg
		}
	}
	return out
}

func matches(pat, p string) bool {
	segs := strings.Split(p, "/")
	for i := 1; i <= len(segs); i++ {
		prefix := strings.Join(segs[:i], "/")
		if ok, _ := path.Match(pat, prefix); ok {
			return true
		}
		if rest, ok := strings.CutPrefix(pat, "**/"); ok {
			for j := 0; j < i; j++ {
				if ok, _ := path.Match(rest, strings.Join(segs[j:i], "/")); ok {
					return true
				}
			}
		}
	}
	return false
}

func TestBuildContextKeepsSecretsAndBuildOutputOut(t *testing.T) {
	df, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(df), "docker build -f deploy/Dockerfile") || !strings.Contains(string(df), "COPY . .") {
		t.Fatal("the Dockerfile's build context is no longer the repository root: move .dockerignore next to the context")
	}
	raw, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatalf("the build context root has no .dockerignore: %v", err)
	}
	var patterns []string
	for _, l := range strings.Split(string(raw), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	tests := []struct {
		path string
		out  bool
	}{
		{".git/config", true},
		{"bin/temporal", true},
		{"bin/worker", true},
		{".data/codec.key", true},
		{".data/temporal.db", true},
		{".data/logs/worker.log", true},
		{".artifacts/webui.png", true},
		{"deploy/prod.env", true},
		{"certs/client.key", true},
		{"go.mod", false},
		{"go.sum", false},
		{"worker/main.go", false},
		{"internal/config/config.go", false},
		{"portone/portonetest/emulator.go", false},
		{"deploy/Dockerfile", false},
	}
	for _, tt := range tests {
		if got := ignored(patterns, tt.path); got != tt.out {
			t.Errorf("%s: excluded = %v, want %v", tt.path, got, tt.out)
		}
	}
}
