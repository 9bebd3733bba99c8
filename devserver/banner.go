package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/signedlink"
	"github.com/paycycle/paycycle/localtemporal"
)

// demoInput is the banner's ready-to-paste Start Workflow input: a 30-second demo plan for a
// customer the emulator seeds, so the first charge happens at once and the next ones every 30 s.
// Only the fields a person needs are written; the workflow fills the defaults.
type demoInput struct {
	SubscriptionID string   `json:"subscription_id"`
	CustomerUID    string   `json:"customer_uid"`
	Plan           demoPlan `json:"plan"`
	// Gateway is "portone_v2" for the V2 example, omitted (V1) otherwise.
	Gateway string `json:"gateway,omitempty"`
}

type demoPlan struct {
	Name     string       `json:"name"`
	Amount   int64        `json:"amount"`
	Interval demoInterval `json:"interval"`
	Trial    *demoTrial   `json:"trial,omitempty"`
}

type demoTrial struct {
	Days int `json:"days"`
}

type demoInterval struct {
	Unit  string `json:"unit"`
	Count int    `json:"count"`
}

// demoSubscriptionID is the banner's UI example; the starter example uses demo-2 so both can run.
const demoSubscriptionID = "demo-1"

// demoV2SubscriptionID is the banner's PortOne V2 example, charged through the emulator's V2
// store with a V2 billing key it issues at start (demoV2Keys).
const demoV2SubscriptionID = "demo-v2"

func demoInputJSON() string {
	return indentedJSON(demoInput{
		SubscriptionID: demoSubscriptionID,
		CustomerUID:    "demo-cust-1",
		Plan:           demoPlan{Name: "Demo 30s plan", Amount: 9900, Interval: demoInterval{Unit: "second", Count: 30}},
	})
}

// demoTrialSubscriptionID is the banner's free-trial example. Its plan is a minute plan, on
// which a law day lasts a minute: the 7-day trial lasts 7 minutes with its consent window open
// throughout, long enough to send the consent or end the trial early by hand (on a second plan
// it would end no_consent 7 seconds after the start).
const demoTrialSubscriptionID = "demo-trial"

func demoTrialInputJSON() string {
	return indentedJSON(demoInput{
		SubscriptionID: demoTrialSubscriptionID,
		CustomerUID:    "demo-cust-3",
		Plan: demoPlan{Name: "Demo trial plan", Amount: 9900, Interval: demoInterval{Unit: "minute", Count: 5},
			Trial: &demoTrial{Days: 7}},
	})
}

func demoV2InputJSON() string {
	return indentedJSON(demoInput{
		SubscriptionID: demoV2SubscriptionID,
		CustomerUID:    strings.Split(demoV2Keys, ",")[0],
		Plan:           demoPlan{Name: "Demo 30s plan (V2)", Amount: 9900, Interval: demoInterval{Unit: "second", Count: 30}},
		Gateway:        "portone_v2",
	})
}

// indentedJSON is v pre-formatted: one-line JSON reflows when the Web UI's editor loses focus,
// and the first click on Start Workflow is lost.
func indentedJSON(v demoInput) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err) // static data
	}
	return string(b)
}

// printBanner tells a person where everything is and what to try first.
func printBanner(out *syncWriter, cfg *config, s *stack, took time.Duration) {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	temporalAddr := addr(cfg.temporalPort)
	codecURL := "http://" + addr(cfg.codecPort)
	keyFile := filepath.Join(cfg.dataDir, "codec.key")
	wfID := billing.WorkflowID(demoSubscriptionID)

	var parts []string
	for _, t := range s.timings {
		parts = append(parts, fmt.Sprintf("%s %.1fs", t.what, t.took.Seconds()))
	}
	p("\n==> paycycle is running (cold start %.1fs: %s)\n\n", took.Seconds(), strings.Join(parts, ", "))

	row := func(name, value, note string) {
		if note != "" {
			value = fmt.Sprintf("%-40s %s", value, note)
		}
		p("  %-19s %s\n", name, value)
	}
	if cfg.noUI {
		row("Temporal Web UI", "disabled (-no-ui)", "")
	} else {
		row("Temporal Web UI", s.temporal.UIURL(), "namespace "+s.temporal.Namespace())
	}
	row("Temporal address", temporalAddr, "TEMPORAL_ADDRESS / --address")
	emu := "http://" + addr(cfg.emulatorPort)
	edge := "http://" + addr(cfg.edgePort)
	skipped := func(name string) string {
		if cfg.skipped(name) {
			return " (skipped: start it yourself, see below)"
		}
		return ""
	}
	row("PortOne emulator", emu+skipped(nameEmulator), "seeded: "+cfg.seedCustomers)
	row("  control API", emu+"/__emulator/", "ledger, faults, customers, webhooks, clock, health")
	row("Billing edge", edge+skipped(nameEdge), "webhooks: "+edge+"/portone/webhook")
	row("  registration", edge+"/register/new", "NaverPay recurring registration demo page")
	row("Worker health", "http://"+addr(cfg.workerHealthPort)+"/healthz"+skipped(nameWorker), "")
	consoleURL := "http://" + addr(cfg.consolePort)
	row("Staff console", consoleURL+skipped(nameConsole), "log in: "+demoLogin+" / "+demoPassword)
	row("  event sink", consoleURL+"/events", "the worker's merchant events, signed; see each subscription's page")
	row("Codec endpoint", codecURL, "the UI decrypts payloads through it")
	row("Data dir", cfg.dataDir, "kept between runs; -reset -yes starts over")
	var logs []string
	for _, n := range childNames {
		if !cfg.skipped(n) {
			logs = append(logs, filepath.Join(cfg.dataDir, "logs", n+".log"))
		}
	}
	row("Logs", strings.Join(logs, "  "), "")
	row("Temporal log", filepath.Join(cfg.dataDir, localtemporal.LogFileName), "server log, never on the terminal")

	p("\nStart a subscription from the Web UI (Workflows > Start Workflow), paste:\n")
	p("  Workflow ID     %s\n", wfID)
	p("  Task Queue      %s\n", billing.TaskQueue)
	p("  Workflow Type   %s\n", billing.WorkflowType)
	p("  Input (JSON, paste as printed):\n%s\n", demoInputJSON())
	p("\nThe same on PortOne V2 (the emulator's V2 store, key %s issued at start): Workflow ID %s, input:\n%s\n",
		strings.Split(demoV2Keys, ",")[0], billing.WorkflowID(demoV2SubscriptionID), demoV2InputJSON())
	p("\nA free trial to try the consent gate by hand (a law day is a minute on a minute plan: 7 minutes of\n"+
		"trial, consent window open throughout; send `starter consent` or `starter end-trial` before it ends,\n"+
		"or it ends no_consent): Workflow ID %s, input:\n%s\n", billing.WorkflowID(demoTrialSubscriptionID), demoTrialInputJSON())

	envPrefix := fmt.Sprintf(`PAYCYCLE_CODEC_KEYS="$(cat %s)" `, keyFile)
	if temporalAddr != localtemporal.DefaultFrontendAddr {
		envPrefix += "TEMPORAL_ADDRESS=" + temporalAddr + " "
	}
	p("\nOr from the command line:\n")
	p("  %s%s start -id demo-2 -customer demo-cust-2 -plan-name Demo -amount 9900 -interval \"30 seconds\"\n",
		envPrefix, filepath.Join(cfg.binDir, "starter"))
	// Links are signed (never /register?subscription_id=): mint them with the stack's secret.
	p("\nThe customer's self-service cancel page (a signed link; -purpose register for registration):\n")
	p("  %s=\"$(cat %s)\" %s link -subscription demo-2 -public-url %s\n",
		signedlink.EnvSecret, filepath.Join(cfg.dataDir, linkKeyFile), filepath.Join(cfg.binDir, "starter"), edge)

	cli := filepath.Join(cfg.binDir, "temporal")
	addrFlag := ""
	if temporalAddr != localtemporal.DefaultFrontendAddr {
		addrFlag = " --address " + temporalAddr
	}
	// Payloads are encrypted: query results and signal inputs go through the codec endpoint.
	cliFlags := addrFlag + " --codec-endpoint " + codecURL
	p("\nInspect with the temporal CLI:\n")
	if _, err := os.Stat(cli); err != nil {
		// Printed as is, the commands below would fail with "no such file".
		p("  (%s is not installed: run `make tools` once, about 4 minutes)\n", cli)
	}
	p("  %s workflow list --query \"ExecutionStatus='Running' AND BillingStatus='active'\"%s\n", cli, addrFlag)
	p("  %s workflow query --workflow-id %s --type %s%s\n", cli, wfID, billing.QueryState, cliFlags)
	p("  %s workflow signal --workflow-id %s --name %s --input '{\"reason\":\"demo over\",\"when\":\"now\"}'%s\n",
		cli, wfID, billing.MsgCancel, cliFlags)

	for _, n := range childNames {
		if !cfg.skipped(n) {
			continue
		}
		keys := fmt.Sprintf(`"$(cat %s)"`, keyFile)
		var env, args []string
		switch n {
		case nameEmulator:
			args = s.emulator().args
		case nameEdge:
			env = s.edgeEnv(keys, fmt.Sprintf(`"$(cat %s)"`, filepath.Join(cfg.dataDir, linkKeyFile)))
		case nameWorker:
			env = s.workerEnv(keys, fmt.Sprintf(`"$(cat %s)"`, filepath.Join(cfg.dataDir, webhookKeyFile)))
		case nameConsole:
			env = s.consoleEnv(keys, fmt.Sprintf(`"$(cat %s)"`, filepath.Join(cfg.dataDir, webhookKeyFile)), "'"+s.consoleStaff+"'")
		}
		p("\n%s was skipped; start it with:\n  %s\n", n,
			strings.TrimSpace(strings.Join(env, " ")+" "+cfg.binaryPath(n)+" "+strings.Join(args, " ")))
	}
	p("\nPress Ctrl-C to stop everything.\n")
	_, _ = out.Write([]byte(b.String()))
}
