package workflows

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/sdk/workflow"
)

// TestBundleContents pins what each bundle version stands for. Running subscriptions recorded
// these bundle markers: a change added to (or dropped from, or re-versioned in) a bundle that
// already shipped would change what their replays take. A new change goes into a new bundle
// version, with a new row here. The IDs are spelt out, not taken from the constants, so that
// renaming a recorded change ID fails too.
func TestBundleContents(t *testing.T) {
	bundle1 := map[string]workflow.Version{
		"messages-first":               1,
		"final-action-pending-cancel":  1,
		"period-starts-at-charge":      1,
		"resume-billing":               1,
		"skip-past-retries":            1,
		"tax-free-prorated":            1,
		"run-behaviour-2026-12":        1,
		"can-on-target-version-change": 1,
		"event-stream":                 1,
		"consent-gate-2026-12":         1,
		"one-signal-receiver":          1,
		"compact-carry":                1,
	}
	bundle2 := maps.Clone(bundle1)
	bundle2["lean-run"] = 1
	bundle3 := maps.Clone(bundle2)
	for _, id := range []string{"recovery-watch", "refuse-null-signal", "attempt-ceiling", "no-day-twice",
		"money-screens", "known-rises", "early-conversion", "change-plan-now", "trial-first-charge"} {
		bundle3[id] = 1
	}
	want := map[workflow.Version]map[string]workflow.Version{1: bundle1, 2: bundle2, 3: bundle3}

	if changeBundle != "paycycle-bundle-2026-12" {
		t.Fatalf("changeBundle = %q: the bundle's change ID is recorded in history, never rename it", changeBundle)
	}
	if got := workflow.Version(len(want)); versionRound3Bundle != got {
		t.Fatalf("the newest bundle is %d but this test pins bundles 1..%d: add the new bundle's contents here", versionRound3Bundle, got)
	}
	for b := workflow.Version(versionBundle); b <= versionRound3Bundle; b++ {
		got := map[string]workflow.Version{}
		for id, c := range coveredByBundle {
			if c.since <= b {
				got[id] = c.version
			}
		}
		if !maps.Equal(got, want[b]) {
			t.Errorf("bundle %d stands for\n%v\nbut was pinned as\n%v\n(a shipped bundle never changes: put a new change in a new bundle version)",
				b, sorted(got), sorted(want[b]))
		}
	}
}

// TestChangeTable checks the table's rows: unique IDs, a version and a line saying what each
// changed, and the retirement query in the form the SDK records (TemporalChangeVersion holds
// "<changeID>-<version>").
func TestChangeTable(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range changeTable {
		if seen[c.id] {
			t.Errorf("change %q has two rows", c.id)
		}
		seen[c.id] = true
		if c.version < 1 || c.what == "" || c.asked == "" {
			t.Errorf("change %q: version %d, what %q, asked %q: every row says all three", c.id, c.version, c.what, c.asked)
		}
		// go test -v -run TestChangeTable ./workflows/ lists when each old branch may go.
		t.Logf("%s-%d: %s; old branch deletable when %s", c.id, c.version, c.what, c.retireWhen())
	}
	var lean changeRow
	for _, c := range changeTable {
		if c.id == changeLeanRun {
			lean = c
		}
	}
	want := `bin/temporal workflow count --query 'WorkflowType="Subscription" AND ExecutionStatus="Running" AND (TemporalChangeVersion IS NULL OR TemporalChangeVersion NOT IN ("lean-run-1", "paycycle-bundle-2026-12-2", "paycycle-bundle-2026-12-3"))' answers 0, and the fixtures recorded before it are retired`
	if got := lean.retireWhen(); got != want {
		t.Errorf("lean-run retireWhen:\n got %s\nwant %s", got, want)
	}
}

func sorted(m map[string]workflow.Version) []string {
	out := make([]string, 0, len(m))
	for id, v := range m {
		out = append(out, fmt.Sprintf("%s-%d", id, v))
	}
	slices.Sort(out)
	return out
}

// TestFixtureFolders: every folder of replay fixtures is named after a version marker this
// table knows (or "unversioned") and listed in testdata/README.md, and the newest bundle has its
// folder (the e2e test's recordDir records into it).
func TestFixtureFolders(t *testing.T) {
	known := map[string]bool{"unversioned": true}
	for _, c := range changeTable {
		known[fmt.Sprintf("%s-%d", c.id, c.version)] = true
	}
	for b := workflow.Version(versionBundle); b <= versionRound3Bundle; b++ {
		known[fmt.Sprintf("%s-%d", changeBundle, b)] = true
	}
	readme, err := os.ReadFile(filepath.Join("testdata", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	folders := map[string]bool{}
	for _, e := range entries {
		if !e.IsDir() {
			if strings.HasSuffix(e.Name(), ".json") {
				t.Errorf("testdata/%s: a fixture goes in the folder of the marker it records", e.Name())
			}
			continue
		}
		folders[e.Name()] = true
		if !known[e.Name()] {
			t.Errorf("testdata/%s/ is named after no version marker of versions.go", e.Name())
		}
		if !strings.Contains(string(readme), "`"+e.Name()+"/`") {
			t.Errorf("testdata/README.md does not say what testdata/%s/ records", e.Name())
		}
	}
	if newest := fmt.Sprintf("%s-%d", changeBundle, versionRound3Bundle); !folders[newest] {
		t.Errorf("the newest bundle has no fixtures: record them into testdata/%s/ (e2e: recordDir)", newest)
	}
}
