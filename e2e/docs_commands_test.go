package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
)

// Every shell command printed in a ```sh, ```bash or ```console block of README.md and of the
// pages of docs/ is either run as printed by TestREADMEOperatingCommands, or run (the same
// subcommands and flags) by another named test, or skipped here with the reason it cannot run
// in a test. TestDocCommandsAreRunOrSkipped fails on a command that is none of these, so a page
// cannot gain a command that no test runs.

// docCommand is one command of a page: a line, with backslash continuations joined, or a
// compound command (for … do … done) with its lines.
type docCommand struct {
	Page    string // relative to the repository, e.g. docs/operators.md
	Section string // the nearest heading above the block
	Block   int    // the block's index in the page, so a block's exports reach its later commands
	Line    string
}

// runHere marks the commands TestREADMEOperatingCommands runs itself.
const runHere = "TestREADMEOperatingCommands"

// commandRule classifies the commands of a page's section that start with prefix ("": all of
// them). how is runHere, the name of another test that runs them, or "" for a skip; why says
// what the other test does or why the command cannot run in a test.
type commandRule struct {
	page, section, prefix string
	how                   string
	why                   string
}

// commandRules is the table of every printed command. The first rule that matches a command
// decides; every rule must match at least one command (a rule left over from a removed command
// fails too).
var commandRules = []commandRule{
	{"README.md", "Quick start", "make run", "", "starts the whole local stack and runs until Ctrl-C; TestDevStack drives what it starts (the dev server with the worker and edge binaries, the Web UI, the temporal CLI)"},
	{"README.md", "Quick start", "make test", "", "the whole suite, this test included; CI runs it (.ci/run)"},
	{"docs/billing-team.md", "Start a subscription from the Web UI", "", runHere, "the starter against the test's server, with the codec key in .data/codec.key as make run writes it"},
	{"docs/developers.md", "Merchant event stream (webhooks)", "bin/starter events", "TestEventsEndToEnd",
		"the same subcommands and flags on the test's own subscription (an event ID carries its run's tag, which no page can know); -status failed in TestEventsFailedDeliveryIsRedelivered"},
	{"docs/developers.md", "Self-service cancel page", "", runHere, "with a generated secret for the page's …"},
	{"docs/developers.md", "The PortOne emulator", "bin/emulator ", "", "a server that runs until stopped; the curl lines below run against the test's emulator instead"},
	{"docs/developers.md", "The PortOne emulator", "curl ", runHere, "against the test's emulator (its address for 127.0.0.1:7780)"},
	{"docs/operators.md", "Inspecting and operating", "", runHere, "the pinned CLI against the test's server and codec endpoint"},
	{"docs/operators.md", "Nightly reconciliation (거래대사)", "", runHere, "against a worker binary that keeps the nightly schedule"},
	{"docs/operators.md", "1. Database and schema (PostgreSQL)", "", "", "a production PostgreSQL (db.internal, a password from a secret store); TestFleetOnPostgres runs the same temporal-sql-tool steps on a private PostgreSQL 15 (make cluster-test)"},
	{"docs/operators.md", "2. Namespace and search attributes", "", runHere, "the pinned CLI against the test's server: a new namespace and its search attributes"},
	{"docs/operators.md", "3. Secrets and configuration", "kubectl ", "", "writes Secrets into a production Kubernetes cluster"},
	{"docs/operators.md", "4. Deploy", "", "", "the worker and the edge against a production Temporal cluster and PortOne with real keys; TestWorkerBinaryStopsCleanlyOnSIGTERM and TestWorkerBinaryKeepsTheReconcileSchedule run the same binaries against a test server"},
	{"docs/operators.md", "5. Safe deploys: replay gate and Worker Versioning", "", "", "needs versioned workers of two builds polling a worker deployment; TestWorkerVersioningOnPostgres makes the same calls (describe, set ramping, set current) through the SDK"},
	{"docs/console.md", "Access", "consoleserver -hash-password", "TestHashPassword", "consoleserver's own test hashes a passphrase read from standard input and refuses a short one"},
	{"docs/console.md", "Access", "PAYCYCLE_CONSOLE_STAFF=", "TestParseStaff", "the console's test parses staff entries of this form (login, roles, bcrypt hash), refusing malformed ones by name"},
	{"docs/console.md", "Measured", "go test ", "", "a benchmark of minutes over 100,000 subscriptions; its figures are in BENCHMARKS.md and docs/console.md, never asserted"},
	{"docs/testing.md", "The first build", "git clone ", "", "a cold build from empty caches, minutes long and downloading 1.5 GB of modules; TestDevStack drives what make run starts"},
	{"docs/testing.md", "Testing", "", "", "a test command: what it runs is the test suite itself (CI runs make test)"},
	{"docs/testing.md", "The docs, checked", "", "", "test commands: TestREADMEOperatingCommands and the fast checks they name are the suite itself"},
}

// docSubstitutions are the only changes made to a printed command before it runs: the test's
// codec endpoint and emulator for make run's fixed addresses, and a generated secret for the
// link secret's placeholder.
func docSubstitutions(codecURL, emulatorHost, linkSecret string) []string {
	return []string{
		"http://127.0.0.1:8234", codecURL,
		"127.0.0.1:7780", emulatorHost,
		"PAYCYCLE_LINK_SECRET=…", "PAYCYCLE_LINK_SECRET=" + linkSecret,
	}
}

// docOutputs is what a command's output must contain: what the page says it shows.
func docOutputs(line string, in billing.SubscriptionInput) []string {
	switch {
	case strings.Contains(line, "--type state"):
		return []string{in.CustomerUID} // the state, decrypted through the codec endpoint
	case strings.Contains(line, "update execute"):
		return []string{"subscription canceled"} // the receipt prints without the codec flag
	case strings.Contains(line, "workflow result"):
		return []string{`"canceled"`}
	case strings.HasPrefix(line, "bin/starter start -id demo-2"), strings.HasPrefix(line, "bin/starter show -id demo-2"):
		return []string{"demo-2"}
	case strings.HasPrefix(line, "bin/starter link ") && strings.Contains(line, "-purpose register"):
		return []string{"https://billing.example.com/register/"}
	case strings.HasPrefix(line, "bin/starter link "):
		return []string{"https://billing.example.com/manage/"}
	case strings.HasPrefix(line, "curl ") && strings.Contains(line, "/__emulator/customers"):
		return []string{"cust-9"}
	case strings.HasPrefix(line, "bin/starter reconcile -from"):
		return []string{"Reconciliation reconcile/", "Window "}
	case strings.HasPrefix(line, "bin/starter reconcile schedule -at 03:30"):
		return []string{"at 03:30 KST, overlap 72h0m0s"}
	case strings.HasPrefix(line, "bin/starter reconcile schedule -trigger"):
		return []string{"triggered: starter reconcile show -latest"}
	case strings.HasPrefix(line, "bin/temporal schedule describe") && strings.Contains(line, "base64 -d"):
		// After -trigger alone the schedule has the defaults, decrypted as the page says.
		return []string{`{"overlap":86400000000000,"rate":5}`}
	case strings.HasPrefix(line, "bin/temporal schedule describe"):
		return []string{"Asia/Seoul", "YmluYXJ5L2VuY3J5cHRlZA=="} // the argument, encrypted
	}
	return nil
}

var (
	docHeading = regexp.MustCompile(`^#{1,6} +(.+?) *$`)
	shellFence = regexp.MustCompile("^```(sh|bash|console)$")
)

// docPages lists README.md and every page of docs/, relative to repo.
func docPages(t *testing.T, repo string) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(repo, "docs", "*.md"))
	require.NoError(t, err)
	require.NotEmpty(t, docs)
	pages := []string{"README.md"}
	for _, d := range docs {
		rel, err := filepath.Rel(repo, d)
		require.NoError(t, err)
		pages = append(pages, filepath.ToSlash(rel))
	}
	return pages
}

// docCommands returns every shell command of every page, in page order.
func docCommands(t *testing.T, repo string) []docCommand {
	t.Helper()
	var out []docCommand
	for _, page := range docPages(t, repo) {
		raw, err := os.ReadFile(filepath.Join(repo, page))
		require.NoError(t, err)
		section, block := "", 0
		var body []string
		fence := "" // the open fence's language, "" outside a block
		for _, line := range strings.Split(string(raw), "\n") {
			trimmed := strings.TrimSpace(line)
			switch {
			case fence == "" && strings.HasPrefix(trimmed, "```"):
				fence = strings.TrimPrefix(trimmed, "```")
				if fence == "" {
					fence = "text"
				}
				body = nil
			case fence != "" && trimmed == "```":
				if shellFence.MatchString("```" + fence) {
					for _, c := range shellCommands(strings.Join(body, "\n")) {
						out = append(out, docCommand{Page: page, Section: section, Block: block, Line: c})
					}
				}
				fence = ""
				block++
			case fence != "":
				body = append(body, line)
			default:
				if m := docHeading.FindStringSubmatch(line); m != nil {
					section = m[1]
				}
			}
		}
		require.Empty(t, fence, "%s: a code block is not closed", page)
	}
	return out
}

// rule returns the rule that decides c, and its index.
func (c docCommand) rule() (commandRule, int, bool) {
	for i, r := range commandRules {
		if r.page == c.Page && r.section == c.Section && strings.HasPrefix(c.Line, r.prefix) {
			return r, i, true
		}
	}
	return commandRule{}, -1, false
}

// testFuncs returns the names of the repository's test functions (func TestX( in *_test.go).
func testFuncs(t *testing.T, repo string) map[string]bool {
	t.Helper()
	decl := regexp.MustCompile(`(?m)^func (Test\w+)\(`)
	names := map[string]bool{}
	err := filepath.WalkDir(repo, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != repo && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range decl.FindAllStringSubmatch(string(b), -1) {
			names[m[1]] = true
		}
		return nil
	})
	require.NoError(t, err)
	return names
}

// TestDocCommandsAreRunOrSkipped: every printed command is classified by commandRules, every
// rule is used, a rule that names another test names one that exists, and a skip says why.
func TestDocCommandsAreRunOrSkipped(t *testing.T) {
	repo, err := filepath.Abs("..")
	require.NoError(t, err)
	cmds := docCommands(t, repo)
	require.GreaterOrEqual(t, len(cmds), 40, "the pages' shell blocks were not found")
	tests := testFuncs(t, repo)
	used := make([]bool, len(commandRules))
	for _, c := range cmds {
		r, i, ok := c.rule()
		if !ok {
			t.Errorf("%s, %q: %s\n  is neither run by a test nor skipped: run it in TestREADMEOperatingCommands or add a rule to commandRules saying which test runs it or why none can", c.Page, c.Section, c.Line)
			continue
		}
		used[i] = true
		how := r.how
		if how == "" {
			how = "skipped"
		}
		t.Logf("%-22s %s: %s", how, c.Page, strings.ReplaceAll(c.Line, "\n", " ⏎ "))
		if r.how == "" && strings.HasPrefix(c.Line, "bin/temporal ") && c.Section == "Inspecting and operating" {
			t.Errorf("%s: the operating commands are run, not skipped: %s", c.Page, c.Line)
		}
	}
	for i, r := range commandRules {
		switch {
		case !used[i]:
			t.Errorf("commandRules[%d] (%s, %q, %q) matches no command: remove it", i, r.page, r.section, r.prefix)
		case r.why == "":
			t.Errorf("commandRules[%d] (%s, %q) does not say why", i, r.page, r.section)
		case r.how != "" && !tests[r.how]:
			t.Errorf("commandRules[%d] names %s, which no test file declares", i, r.how)
		}
	}
	// Bare `temporal` is not on the PATH that make tools sets up: the pages use bin/temporal.
	for _, c := range cmds {
		for _, line := range strings.Split(c.Line, "\n") {
			if slices.Contains(strings.Fields(line), "temporal") && !strings.Contains(line, "bin/temporal") && strings.HasPrefix(strings.TrimSpace(line), "temporal") {
				t.Errorf("%s: %q runs temporal from the PATH; print bin/temporal", c.Page, line)
			}
		}
	}
}
