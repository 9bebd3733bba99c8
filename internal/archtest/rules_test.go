package archtest

// The module path, and the rules of docs/architecture.md in Go. Paths are relative to the module.
const module = "github.com/paycycle/paycycle"

// allowed lists, per package, the project packages it may import directly (the "may import"
// column of the table). "*" allows every project package (the e2e tests).
var allowed = map[string][]string{
	"calendar":              {},
	"portone":               {},
	"portone/portonetest":   {},
	"internal/textfmt":      {},
	"internal/testgate":     {},
	"internal/browsertest":  {"internal/testgate"},
	"internal/testlogs":     {},
	"internal/archtest":     {},
	"internal/docstest":     {},
	"internal/config":       {},
	"internal/signedlink":   {},
	"internal/nofollow":     {},
	"internal/portoneconf":  {"gateway/portonev2", "internal/config", "portone"},
	"internal/stacktest":    {"activities", "billing", "codec", "gateway/portonev1", "gateway/portonev2", "internal/testlogs", "portone", "portone/portonetest", "temporalconn", "webhooks", "workflows"},
	"internal/testcerts":    {},
	"internal/ledgercheck":  {"billing", "portone/portonetest"},
	"internal/replaytest":   {},
	"billing":               {"calendar"},
	"codec":                 {},
	"logging":               {},
	"temporalconn":          {"billing", "codec", "internal/config"},
	"gateway":               {"billing"},
	"gateway/portonev1":     {"gateway", "portone"},
	"gateway/portonev2":     {"billing", "gateway"},
	"gateway/gatewaytest":   {"billing", "gateway"},
	"activities":            {"billing", "calendar", "gateway"},
	"internal/rulebook":     {},
	"workflows":             {"billing", "calendar", "activities", "internal/textfmt", "webhooks"},
	"webhooks":              {"billing", "internal/nofollow"},
	"webhooks/webhookstest": {"billing"},
	"edge":                  {"billing", "calendar", "gateway", "gateway/portonev2", "portone", "internal/config", "internal/portoneconf", "internal/signedlink", "internal/textfmt"},
	"localtemporal":         {"billing", "internal/nofollow", "logging"},
	"reconcile":             {"activities", "billing", "calendar", "gateway", "internal/textfmt"},
	"metrics":               {"billing", "gateway/portonev2", "portone"},
	"readmodel":             {"billing", "calendar", "internal/textfmt", "webhooks"},
	"workerset":             {"activities", "webhooks", "workflows"},
	"deploy/prometheus":     {},
	"deploy":                {},
	"deploy/healthcheck":    {},
	"cluster":               {"*"},
	"worker":                {"activities", "billing", "edge", "gateway/portonev1", "internal/config", "internal/nofollow", "internal/portoneconf", "logging", "metrics", "portone", "readmodel", "reconcile", "temporalconn", "webhooks", "workerset", "workflows"},
	"starter":               {"billing", "calendar", "internal/config", "internal/signedlink", "internal/textfmt", "logging", "reconcile", "temporalconn", "webhooks"},
	"edgeserver":            {"edge", "internal/config", "logging", "metrics", "temporalconn"},
	"emulator":              {"internal/config", "portone/portonetest"},
	"devserver":             {"billing", "codec", "internal/nofollow", "internal/signedlink", "localtemporal"},
	"loadtest":              {"activities", "billing", "calendar", "edge", "gateway/portonev1", "gateway/portonev2", "internal/ledgercheck", "internal/nofollow", "internal/stacktest", "metrics", "portone", "portone/portonetest", "temporalconn", "workerset", "workflows"},
	"e2e":                   {"*"},
	"console":               {"billing", "calendar", "internal/nofollow", "internal/textfmt", "logging", "readmodel", "webhooks"},
	"consoleserver":         {"console", "internal/config", "logging", "readmodel", "temporalconn"},
}

// stdlibOnly packages depend, transitively, on nothing but the standard library: the client and
// the emulator are used and tested on their own, and calendar and textfmt are pure.
var stdlibOnly = []string{"calendar", "portone", "portone/portonetest", "internal/textfmt", "internal/signedlink", "internal/nofollow", "internal/rulebook", "internal/testlogs", "internal/docstest"}

// rulebook is the sweep's independent specification: it must not share the code it checks, and
// only tests may use it.
const rulebook = "internal/rulebook"

// rulebookMustNotImport are the packages whose logic the rulebook restates on its own.
var rulebookMustNotImport = []string{"calendar", "billing", "activities", "workflows", "portone"}

// serverPrefix is the Temporal server module; its first build takes minutes.
const serverPrefix = "go.temporal.io/server"

// mayDependOnServer are the only packages whose (non-test) dependencies include the server.
var mayDependOnServer = []string{"localtemporal", "devserver", "loadtest", "internal/stacktest"}

// forbiddenInWorkflows are imports the deterministic workflow code must not name itself.
var forbiddenInWorkflows = []string{module + "/portone", "net/http", "os", "os/exec", "math/rand", "math/rand/v2", "go.uber.org/zap"}

// testOrToolOnly are module path prefixes that tests and tools need but no binary that does not
// embed the Temporal server may link: Kubernetes and kustomize types (the deploy tests),
// chromedp (browser tests), compose-go (the compose file test), kin-openapi (the PortOne
// contract test), pprof's profile parser (loadtest abba) and the pure-Go SQLite. Each one in
// the worker, the edge, the emulator or the starter would lengthen `make run`'s cold build and
// the binary; the server brings k8s.io, sigs.k8s.io and modernc.org to mayDependOnServer itself.
var testOrToolOnly = []string{"k8s.io/", "sigs.k8s.io/", "github.com/chromedp/", "github.com/compose-spec/",
	"github.com/getkin/", "github.com/google/pprof/", "modernc.org/", "helm.sh/"}

// mayDependOnTestOnly exempts packages from testOrToolOnly, with the prefixes each may reach.
var mayDependOnTestOnly = map[string][]string{
	"internal/browsertest": {"github.com/chromedp/"}, // the browser tests' launcher, imported by tests only
	"loadtest":             {"github.com/google/pprof/"},
	// The read model's embedded database for make run and tests (issue 23): the pure-Go SQLite.
	// A binary that serves the read model links it; the dev server already builds it, so make
	// run's cold build does not grow. Packages importing readmodel need the same row.
	"readmodel":     {"modernc.org/"},
	"console":       {"modernc.org/"},
	"consoleserver": {"modernc.org/"},
	// The worker compares the read model with every workflow's state in the nightly
	// reconciliation (reconcile's projection check, through its adapter over readmodel.Store).
	"worker": {"modernc.org/"},
}

// testingFrameworks may be imported directly only by testHelpers (non-test files included),
// never by a package a binary links for its own code.
var testingFrameworks = []string{"github.com/stretchr/testify/", "github.com/chromedp/", "go.uber.org/mock/", "github.com/golang/mock/"}

// testHelpers are the packages only tests import that use a testing framework in non-test files.
var testHelpers = []string{"internal/browsertest", "internal/replaytest", "gateway/gatewaytest"}
