//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/codec"
	"github.com/paycycle/paycycle/internal/testgate"
	"github.com/paycycle/paycycle/internal/testlogs"
)

// Built once in TestMain: the real devserver binary and the stand-in for its children.
var (
	devserverBin string
	standinBin   string
)

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "devserver-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		if testing.Short() {
			// The binaries are only for the tests that testgate.Slow skips under -short.
			return m.Run()
		}
		devserverBin = filepath.Join(dir, "devserver")
		standinBin = filepath.Join(dir, "standin")
		goBin, err := exec.LookPath("go")
		if err != nil {
			fmt.Fprintln(os.Stderr, "no go command on PATH:", err)
			return 1
		}
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		for _, b := range [][]string{{devserverBin, "."}, {standinBin, "./testdata/standin"}} {
			begin := time.Now()
			cmd := exec.CommandContext(ctx, goBin, "build", "-o", b[0], b[1])
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintf(os.Stderr, "build %s: %v\n", b[1], err)
				return 1
			}
			if testing.Verbose() {
				fmt.Printf("built %s in %s\n", b[1], time.Since(begin).Round(time.Millisecond))
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

// ports are one devserver's ports, all free when picked.
type ports struct{ temporal, ui, codec, emulator, edge, worker, console, emulatorV2 int }

// freePorts returns eight distinct free ports: their listeners stay open until all are chosen,
// since one freePort after another may hand the same port out twice (seen in CI).
func freePorts(t *testing.T) ports {
	t.Helper()
	var p [8]int
	for i := range p {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		p[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]}
}

func (p ports) flags() []string {
	return []string{
		"-temporal-port", strconv.Itoa(p.temporal), "-ui-port", strconv.Itoa(p.ui),
		"-codec-port", strconv.Itoa(p.codec), "-emulator-port", strconv.Itoa(p.emulator),
		"-edge-port", strconv.Itoa(p.edge), "-worker-health-port", strconv.Itoa(p.worker),
		"-console-port", strconv.Itoa(p.console),
		"-emulator-v2-port", strconv.Itoa(p.emulatorV2),
	}
}

// standinBinDir is a bin dir whose emulator, edgeserver and worker are the stand-in.
func standinBinDir(t *testing.T, names ...string) string {
	t.Helper()
	testgate.Slow(t, "runs the devserver binary with stand-in children")
	dir := t.TempDir()
	if len(names) == 0 {
		names = childNames
	}
	for _, n := range names {
		dst := filepath.Join(dir, n)
		if os.Link(standinBin, dst) != nil { // another file system: copy
			b, err := os.ReadFile(standinBin)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(dst, b, 0o755))
		}
	}
	return dir
}

// proc is a running devserver.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	banner chan struct{}
	exited chan struct{}
	err    error
}

func startDevserver(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	testgate.Slow(t, "builds and runs the devserver binary")
	p := &proc{t: t, banner: make(chan struct{}), exited: make(chan struct{})}
	p.cmd = exec.Command(devserverBin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.stderr}
	out, err := p.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	go func() {
		sc := bufio.NewScanner(out)
		once := sync.Once{}
		for sc.Scan() {
			p.mu.Lock()
			p.stdout.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if strings.HasPrefix(sc.Text(), "Press Ctrl-C to stop everything") {
				once.Do(func() { close(p.banner) })
			}
		}
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.exited
		}
	})
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (p *proc) output() (string, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String(), p.stderr.String()
}

// waitBanner waits for the ready banner and returns stdout so far.
func (p *proc) waitBanner(timeout time.Duration) string {
	p.t.Helper()
	select {
	case <-p.banner:
		out, _ := p.output()
		return out
	case <-p.exited:
		out, errOut := p.output()
		p.t.Fatalf("devserver exited before ready (%v)\nstdout:\n%s\nstderr:\n%s", p.err, out, errOut)
	case <-time.After(timeout):
		out, errOut := p.output()
		p.t.Fatalf("no banner within %s\nstdout:\n%s\nstderr:\n%s", timeout, out, errOut)
	}
	return ""
}

// waitExit waits for devserver to exit and returns its exit code.
func (p *proc) waitExit(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		out, errOut := p.output()
		p.t.Fatalf("devserver still running after %s\nstdout:\n%s\nstderr:\n%s", timeout, out, errOut)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	require.NoError(p.t, p.err)
	return 0
}

// standinInfo is what a stand-in child reports about itself.
type standinInfo struct {
	Name              string            `json:"name"`
	PID               int               `json:"pid"`
	Args              []string          `json:"args"`
	Env               map[string]string `json:"env"`
	TemporalReachable bool              `json:"temporal_reachable"`
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
}

func standin(t *testing.T, port int) standinInfo {
	t.Helper()
	var info standinInfo
	getJSON(t, fmt.Sprintf("http://127.0.0.1:%d/__standin", port), &info)
	return info
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func requireGone(t *testing.T, what string, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	require.False(t, alive(pid), "%s (pid %d) must be stopped", what, pid)
}

func requirePortFree(t *testing.T, port int) {
	t.Helper()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	require.NoError(t, err, "port %d must be free", port)
	_ = ln.Close()
}

// bannerValue returns what follows label on the banner line that starts with it.
func bannerValue(t *testing.T, banner, label string) string {
	t.Helper()
	for _, line := range strings.Split(banner, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), label); ok {
			return strings.TrimSpace(rest)
		}
	}
	t.Fatalf("banner has no %q line:\n%s", label, banner)
	return ""
}

func sdkClient(ctx context.Context, t *testing.T, port int, keys string) client.Client {
	t.Helper()
	parsed, err := codec.ParseKeys(keys)
	require.NoError(t, err)
	cd, err := codec.New(parsed)
	require.NoError(t, err)
	c, err := client.DialContext(ctx, client.Options{
		HostPort:      fmt.Sprintf("127.0.0.1:%d", port),
		Namespace:     "default",
		DataConverter: cd.DataConverter(),
		Logger:        sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

const (
	timerQueue    = "devserver-timer-test"
	timerWorkflow = "DevserverTimerTest"
	timerID       = "devserver-timer-across-restart"
)

// sleepWorkflow waits on a durable timer; it shows that timers survive devserver being stopped
// and started again (a real process restart: the SQLite file is closed and reopened).
func sleepWorkflow(ctx workflow.Context, d time.Duration) (string, error) {
	if err := workflow.Sleep(ctx, d); err != nil {
		return "", err
	}
	return "woke up", nil
}

func startTimerWorker(t *testing.T, c client.Client) worker.Worker {
	t.Helper()
	w := worker.New(c, timerQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(sleepWorkflow, workflow.RegisterOptions{Name: timerWorkflow})
	require.NoError(t, w.Start())
	return w
}

// keepLogsOnFailure keeps the logs devserver wrote in dataDir (Temporal server, worker, edge,
// their .prev) as CI artifacts when t fails (internal/testlogs); the directory itself goes.
func keepLogsOnFailure(t *testing.T, dataDir string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		logs, _ := filepath.Glob(filepath.Join(dataDir, "logs", "*.log*"))
		// The Temporal server logs beside them, and a server that cannot start exits with its
		// reason there alone (its log is never on the terminal).
		server, _ := filepath.Glob(filepath.Join(dataDir, "temporal.log*"))
		for _, l := range append(logs, server...) {
			if b, err := os.ReadFile(l); err == nil {
				testlogs.Save(t, "devserver-"+strings.TrimSuffix(filepath.Base(l), ".log"), b)
			}
		}
	})
}

// TestDevserverRunsTheStack runs devserver twice on one data dir with stand-in children: the
// first run is stopped with SIGINT, the second by a child dying.
func TestDevserverRunsTheStack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dataDir := filepath.Join(t.TempDir(), "data")
	keepLogsOnFailure(t, dataDir)
	binDir := standinBinDir(t)
	p := freePorts(t)
	args := append([]string{"-data-dir", dataDir, "-bin-dir", binDir, "-stop-timeout", "5s"}, p.flags()...)

	// ---- First run: everything comes up.
	begin := time.Now()
	ds := startDevserver(t, nil, args...)
	banner := ds.waitBanner(2 * time.Minute)
	t.Logf("devserver ready in %s (wall clock, process start to banner)", time.Since(begin).Round(time.Millisecond))
	t.Logf("banner:\n%s", banner)

	uiURL := fmt.Sprintf("http://127.0.0.1:%d", p.ui)
	codecURL := fmt.Sprintf("http://127.0.0.1:%d", p.codec)
	require.Contains(t, banner, uiURL)
	require.Contains(t, banner, codecURL)
	require.Contains(t, banner, fmt.Sprintf("http://127.0.0.1:%d/register/new", p.edge))
	require.Contains(t, banner, fmt.Sprintf("http://127.0.0.1:%d/__emulator/", p.emulator))
	require.Contains(t, banner, "cold start")
	require.Contains(t, banner, "start -id demo-2 -customer demo-cust-2 -plan-name Demo -amount 9900 -interval \"30 seconds\"")
	require.Contains(t, banner, fmt.Sprintf(`PAYCYCLE_LINK_SECRET="$(cat %s)"`, filepath.Join(dataDir, "link.key")))
	require.Contains(t, banner, fmt.Sprintf("link -subscription demo-2 -public-url http://127.0.0.1:%d", p.edge))
	require.NotContains(t, banner, "subscription_id=", "no guessable link")
	require.Contains(t, banner, "workflow list --query \"ExecutionStatus='Running' AND BillingStatus='active'\"")
	require.Contains(t, banner, filepath.Join(dataDir, "logs", "worker.log"))

	// The Start Workflow form input.
	require.Equal(t, billing.WorkflowID("demo-1"), bannerValue(t, banner, "Workflow ID"))
	require.Equal(t, billing.TaskQueue, bannerValue(t, banner, "Task Queue"))
	require.Equal(t, billing.WorkflowType, bannerValue(t, banner, "Workflow Type"))
	// The input is printed pre-formatted, on the lines after its label, as the README's is.
	_, after, ok := strings.Cut(banner, "Input (JSON, paste as printed):\n")
	require.True(t, ok, banner)
	raw := after[:strings.Index(after, "\n}")+2]
	require.Contains(t, raw, "\n  \"plan\"", "pre-formatted: one-line JSON swallows the first click")
	var in billing.SubscriptionInput
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&in), raw)
	in.Normalize()
	require.NoError(t, in.Validate())
	require.NoError(t, in.Plan.Validate("plan"))
	require.Equal(t, "demo-1", in.SubscriptionID)
	require.Equal(t, "demo-cust-1", in.CustomerUID)
	require.EqualValues(t, 9900, in.Plan.Amount)
	require.Equal(t, "second", string(in.Plan.Interval.Unit))
	require.Equal(t, 30, in.Plan.Interval.Count)
	require.NotEmpty(t, in.Plan.Name)

	// The codec key was created and handed to the edge and the worker.
	keyBytes, err := os.ReadFile(filepath.Join(dataDir, "codec.key"))
	linkKey, lerr := os.ReadFile(filepath.Join(dataDir, "link.key"))
	webhookKey, werr := os.ReadFile(filepath.Join(dataDir, "webhook.key"))
	require.NoError(t, werr, "a webhook secret is created for the worker and the console")
	require.NoError(t, lerr, "a link secret is created for the edge")
	require.NoError(t, err)
	keys := strings.TrimSpace(string(keyBytes))
	_, err = codec.ParseKeys(keys)
	require.NoError(t, err)

	// Each child got exactly the contract's flags and environment.
	emu := standin(t, p.emulator)
	require.Equal(t, []string{
		"-addr", fmt.Sprintf("127.0.0.1:%d", p.emulator),
		"-seed-customers", "demo-cust-1,demo-cust-2,demo-cust-3",
		"-notice-url", fmt.Sprintf("http://127.0.0.1:%d/portone/webhook", p.edge),
		"-v2-addr", fmt.Sprintf("127.0.0.1:%d", p.emulatorV2),
		"-v2-secret", demoV2Secret, "-v2-store-id", demoV2StoreID, "-v2-channel-key", demoV2ChannelKey,
		"-v2-webhook-url", fmt.Sprintf("http://127.0.0.1:%d/portone/v2/webhook", p.edge),
		"-v2-webhook-secrets", demoV2WebhookSecret,
		"-v2-seed-billing-keys", demoV2Keys,
		"-state-file", filepath.Join(dataDir, "emulator.json"),
	}, emu.Args)
	// The edge and the worker speak the emulator's V2 store with the same settings.
	v2env := map[string]string{
		"PORTONE_V2_BASE_URL":        fmt.Sprintf("http://127.0.0.1:%d", p.emulatorV2),
		"PORTONE_V2_API_SECRET":      demoV2Secret,
		"PORTONE_V2_STORE_ID":        demoV2StoreID,
		"PORTONE_V2_CHANNEL_KEY":     demoV2ChannelKey,
		"PORTONE_V2_WEBHOOK_SECRETS": demoV2WebhookSecret,
	}
	edge := standin(t, p.edge)
	temporalAddr := fmt.Sprintf("127.0.0.1:%d", p.temporal)
	emuURL := fmt.Sprintf("http://127.0.0.1:%d", p.emulator)
	for k, v := range map[string]string{
		"BILLING_EDGE_ADDR":       fmt.Sprintf("127.0.0.1:%d", p.edge),
		"BILLING_EDGE_PUBLIC_URL": fmt.Sprintf("http://127.0.0.1:%d", p.edge),
		"PORTONE_BASE_URL":        emuURL,
		"PORTONE_API_KEY":         "imp_test_key",
		"PORTONE_API_SECRET":      "imp_test_secret",
		"PORTONE_IMP_SCRIPT_URL":  emuURL + "/__emulator/iamport.js",
		"BILLING_DEMO_MODE":       "true",
		"TEMPORAL_ADDRESS":        temporalAddr,
		"TEMPORAL_NAMESPACE":      "default",
		"PAYCYCLE_CODEC_KEYS":     keys,
		"PAYCYCLE_LINK_SECRET":    strings.TrimSpace(string(linkKey)),
		"PORTONE_V2_SDK_URL":      emuURL + "/__emulator/v2/browser-sdk.js",
	} {
		require.Equal(t, v, edge.Env[k], "edgeserver %s", k)
	}
	for k, v := range v2env {
		require.Equal(t, v, edge.Env[k], "edgeserver %s", k)
	}
	require.True(t, edge.TemporalReachable, "Temporal must be up before the edge starts")
	worker := standin(t, p.worker)
	for k, v := range map[string]string{
		"TEMPORAL_ADDRESS":           temporalAddr,
		"TEMPORAL_NAMESPACE":         "default",
		"PORTONE_BASE_URL":           emuURL,
		"PORTONE_API_KEY":            "imp_test_key",
		"PORTONE_API_SECRET":         "imp_test_secret",
		"BILLING_DEMO_MODE":          "true",
		"BILLING_NOTICE_URL":         fmt.Sprintf("http://127.0.0.1:%d/portone/webhook", p.edge),
		"BILLING_WORKER_HEALTH_ADDR": fmt.Sprintf("127.0.0.1:%d", p.worker),
		"PAYCYCLE_CODEC_KEYS":        keys,
		"BILLING_WEBHOOK_URLS":       fmt.Sprintf("http://127.0.0.1:%d/events", p.console),
		"PAYCYCLE_WEBHOOK_SECRETS":   strings.TrimSpace(string(webhookKey)),
	} {
		require.Equal(t, v, worker.Env[k], "worker %s", k)
	}
	for k, v := range v2env {
		require.Equal(t, v, worker.Env[k], "worker %s", k)
	}
	require.True(t, worker.TemporalReachable)
	// The console: its read model in the data dir, the worker's stream verified with the same
	// secret, and the banner's demo login in its staff logins.
	cons := standin(t, p.console)
	for k, v := range map[string]string{
		"PAYCYCLE_CONSOLE_ADDR":       fmt.Sprintf("127.0.0.1:%d", p.console),
		"PAYCYCLE_CONSOLE_PUBLIC_URL": fmt.Sprintf("http://127.0.0.1:%d", p.console),
		"PAYCYCLE_READMODEL_DSN":      "sqlite:" + filepath.Join(dataDir, "readmodel.db"),
		"PAYCYCLE_WEBHOOK_SECRETS":    strings.TrimSpace(string(webhookKey)),
		"TEMPORAL_ADDRESS":            temporalAddr,
		"TEMPORAL_NAMESPACE":          "default",
		"PAYCYCLE_CODEC_KEYS":         keys,
	} {
		require.Equal(t, v, cons.Env[k], "consoleserver %s", k)
	}
	staff := cons.Env["PAYCYCLE_CONSOLE_STAFF"]
	hash, ok := strings.CutPrefix(staff, "demo:operator+pii:")
	require.True(t, ok, "one demo login with every role")
	require.NoError(t, bcrypt.CompareHashAndPassword([]byte(hash), []byte("paycycle-demo")), "the banner's password logs in")
	require.Contains(t, banner, fmt.Sprintf("http://127.0.0.1:%d", p.console))
	require.Contains(t, banner, "log in: demo / paycycle-demo")

	// The Web UI: Start Workflow enabled, pointed at the codec endpoint.
	var settings struct {
		StartWorkflowDisabled bool
		DefaultNamespace      string
		Codec                 struct{ Endpoint string }
	}
	getJSON(t, uiURL+"/api/v1/settings", &settings)
	require.False(t, settings.StartWorkflowDisabled)
	require.Equal(t, "default", settings.DefaultNamespace)
	require.Equal(t, codecURL, settings.Codec.Endpoint)

	// Temporal: the project's search attributes are registered; a workflow started now (with
	// encrypted input) must still be there after a restart.
	c := sdkClient(ctx, t, p.temporal, keys)
	sas, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
	require.NoError(t, err)
	for _, d := range billing.SearchAttributes {
		require.Equal(t, d.Type, sas.GetCustomAttributes()[d.Name].String(), d.Name)
	}
	const keepID = "subscription/survives-restart"
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: keepID, TaskQueue: billing.TaskQueue},
		billing.WorkflowType, in)
	require.NoError(t, err)

	// The codec endpoint decrypts that input for the UI's origin, and refuses other origins.
	checkCodecEndpoint(ctx, t, c, keepID, codecURL, uiURL)

	// A workflow on a timer, to be stopped mid-timer.
	w := startTimerWorker(t, c)
	timerRun, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: timerID, TaskQueue: timerQueue}, timerWorkflow, 6*time.Second)
	require.NoError(t, err)
	timerStarted := time.Now()
	require.Eventually(t, func() bool {
		it := c.GetWorkflowHistory(ctx, timerID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return false
			}
			if ev.GetEventType() == enumspb.EVENT_TYPE_TIMER_STARTED {
				return true
			}
		}
		return false
	}, 30*time.Second, 100*time.Millisecond, "timer started")
	w.Stop()

	// Ctrl-C stops everything cleanly.
	stopBegin := time.Now()
	require.NoError(t, ds.cmd.Process.Signal(os.Interrupt))
	require.Equal(t, 0, ds.waitExit(60*time.Second))
	t.Logf("SIGINT to exit: %s", time.Since(stopBegin).Round(time.Millisecond))
	out, _ := ds.output()
	require.Contains(t, out, "Stopped in")
	for _, s := range []standinInfo{emu, edge, worker} {
		requireGone(t, s.Name, s.PID)
	}
	for _, port := range []int{p.temporal, p.ui, p.codec, p.emulator, p.edge, p.worker, p.console} {
		requirePortFree(t, port)
	}
	workerLog, err := os.ReadFile(filepath.Join(dataDir, "logs", "worker.log"))
	require.NoError(t, err)
	require.Contains(t, string(workerLog), "standin worker: listening on")
	require.Contains(t, string(workerLog), "a line on stderr")
	require.Contains(t, string(workerLog), "got SIGTERM")
	c.Close()

	// ---- Second run on the same data dir: the key and the workflow are still there.
	begin = time.Now()
	ds = startDevserver(t, nil, args...)
	ds.waitBanner(2 * time.Minute)
	t.Logf("devserver restart ready in %s", time.Since(begin).Round(time.Millisecond))
	keyBytes2, err := os.ReadFile(filepath.Join(dataDir, "codec.key"))
	require.NoError(t, err)
	require.Equal(t, string(keyBytes), string(keyBytes2), "the codec key must survive a restart")
	c = sdkClient(ctx, t, p.temporal, keys)
	desc, err := c.DescribeWorkflowExecution(ctx, keepID, "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.GetWorkflowExecutionInfo().GetStatus())
	_, err = os.Stat(filepath.Join(dataDir, "logs", "worker.log.prev"))
	require.NoError(t, err, "the previous run's log is kept")

	// The timer set before the restart fires and the workflow completes.
	w = startTimerWorker(t, c)
	waitCtx, waitCancel := context.WithTimeout(ctx, 60*time.Second)
	var woke string
	require.NoError(t, c.GetWorkflow(waitCtx, timerID, timerRun.GetRunID()).Get(waitCtx, &woke))
	waitCancel()
	w.Stop()
	require.Equal(t, "woke up", woke)
	t.Logf("timer workflow completed %s after start, across a devserver restart", time.Since(timerStarted).Round(time.Millisecond))

	// A child dying stops everything; devserver exits non-zero naming it and its log.
	emu, edge, worker = standin(t, p.emulator), standin(t, p.edge), standin(t, p.worker)
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/__die?code=3", p.worker))
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, 1, ds.waitExit(60*time.Second))
	_, errOut := ds.output()
	require.Contains(t, errOut, "worker exited unexpectedly (exit status 3)")
	require.Contains(t, errOut, filepath.Join(dataDir, "logs", "worker.log"))
	require.Contains(t, errOut, "dying with status 3", "the error shows the log's last lines")
	for _, s := range []standinInfo{emu, edge, worker} {
		requireGone(t, s.Name, s.PID)
	}
	requirePortFree(t, p.temporal)
}

// checkCodecEndpoint decodes the workflow's stored (encrypted) input through the codec endpoint,
// as the Web UI does from the browser.
func checkCodecEndpoint(ctx context.Context, t *testing.T, c client.Client, id, codecURL, uiOrigin string) {
	t.Helper()
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	ev, err := it.Next()
	require.NoError(t, err)
	payloads := ev.GetWorkflowExecutionStartedEventAttributes().GetInput()
	require.Equal(t, codec.MetadataEncoding, string(payloads.GetPayloads()[0].GetMetadata()["encoding"]), "input must be stored encrypted")
	body, err := protojson.Marshal(payloads)
	require.NoError(t, err)

	post := func(origin string) *http.Response {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, codecURL+"/default/decode", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Namespace", "default")
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		return resp
	}
	resp := post(uiOrigin)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, uiOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
	decodedBody, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var decoded commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(decodedBody, &decoded))
	require.Contains(t, string(decoded.GetPayloads()[0].GetData()), `"customer_uid":"demo-cust-1"`)

	other := post("http://evil.example")
	_ = other.Body.Close()
	require.Equal(t, http.StatusForbidden, other.StatusCode)
}

func TestDevserverFailsFastWithAClearMessage(t *testing.T) {
	p := freePorts(t)
	cases := map[string]struct {
		setup    func(t *testing.T) []string // returns extra args
		wantCode int
		want     string
	}{
		"missing binary": {
			setup: func(t *testing.T) []string {
				return []string{"-bin-dir", standinBinDir(t, nameEmulator, nameEdge, nameConsole)}
			},
			wantCode: 1, want: "worker not found or not executable: run make build first",
		},
		"port in use": {
			setup: func(t *testing.T) []string {
				ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p.edge))
				require.NoError(t, err)
				t.Cleanup(func() { _ = ln.Close() })
				return []string{"-bin-dir", standinBinDir(t)}
			},
			wantCode: 1, want: fmt.Sprintf("port %d (HTTP edge) is already in use on 127.0.0.1; is another devserver running? Stop it, or choose another port with -edge-port", p.edge),
		},
		"reset needs confirmation": {
			setup:    func(t *testing.T) []string { return []string{"-bin-dir", standinBinDir(t), "-reset"} },
			wantCode: 1, want: "add -yes to confirm",
		},
		"bad flag": {
			setup:    func(t *testing.T) []string { return []string{"-skip", "database"} },
			wantCode: 2, want: `-skip "database": want some of emulator, edgeserver, worker`,
		},
		"same port twice": {
			setup:    func(t *testing.T) []string { return []string{"-codec-port", strconv.Itoa(p.temporal)} },
			wantCode: 2, want: "-temporal-port and -codec-port are both",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			args := append(append([]string{"-data-dir", filepath.Join(t.TempDir(), "data")}, p.flags()...), tc.setup(t)...)
			begin := time.Now()
			ds := startDevserver(t, nil, args...)
			require.Equal(t, tc.wantCode, ds.waitExit(30*time.Second))
			_, errOut := ds.output()
			require.Contains(t, errOut, tc.want)
			require.Less(t, time.Since(begin), 10*time.Second, "must fail before starting anything slow")
		})
	}
}

// TestDevserverChildNeverReady: a child that never turns healthy fails the start within
// -ready-timeout, naming the child and its log, and nothing is left running.
func TestDevserverChildNeverReady(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	p := freePorts(t)
	args := append([]string{"-data-dir", dataDir, "-bin-dir", standinBinDir(t), "-ready-timeout", "2s"}, p.flags()...)
	ds := startDevserver(t, []string{"STANDIN_NO_HEALTH=edgeserver"}, args...)
	require.Equal(t, 1, ds.waitExit(90*time.Second))
	_, errOut := ds.output()
	require.Contains(t, errOut, "edgeserver was not ready within 2s")
	require.Contains(t, errOut, filepath.Join(dataDir, "logs", "edgeserver.log"))
	for _, port := range []int{p.temporal, p.ui, p.codec, p.emulator, p.edge, p.worker, p.console} {
		requirePortFree(t, port)
	}
}

// TestDevserverResetAndStubbornChild: -reset -yes replaces the data (a new codec key); -verbose
// echoes children's output; a child that ignores SIGTERM is killed after -stop-timeout.
func TestDevserverResetAndStubbornChild(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	require.NoError(t, os.MkdirAll(filepath.Join(dataDir, "logs"), 0o700))
	oldKey, err := codec.NewKeyString("old")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dataDir, "codec.key"), []byte(oldKey), 0o600))

	p := freePorts(t)
	args := append([]string{"-data-dir", dataDir, "-bin-dir", standinBinDir(t), "-reset", "-yes",
		"-verbose", "-stop-timeout", "1s"}, p.flags()...)
	ds := startDevserver(t, []string{"STANDIN_IGNORE_TERM=worker"}, args...)
	out := ds.waitBanner(2 * time.Minute)
	require.Contains(t, out, "Deleted "+dataDir)
	require.Contains(t, out, "[worker] standin worker: listening on")
	newKey, err := os.ReadFile(filepath.Join(dataDir, "codec.key"))
	require.NoError(t, err)
	require.NotEqual(t, oldKey, strings.TrimSpace(string(newKey)))

	worker := standin(t, p.worker)
	begin := time.Now()
	require.NoError(t, ds.cmd.Process.Signal(os.Interrupt))
	require.Equal(t, 0, ds.waitExit(60*time.Second))
	t.Logf("stop with a stubborn child took %s", time.Since(begin).Round(time.Millisecond))
	requireGone(t, "worker", worker.PID)
	log, err := os.ReadFile(filepath.Join(dataDir, "logs", "worker.log"))
	require.NoError(t, err)
	require.Contains(t, string(log), "did not stop within 1s of SIGTERM; sending SIGKILL")
}

func TestResetRefusesADirectoryItDidNotCreate(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "codec.key"), []byte("x"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x"), 0o600))
	err := resetDataDir(dir)
	require.ErrorContains(t, err, "it holds go.mod, which devserver did not create")
	_, err = os.Stat(filepath.Join(dir, "codec.key"))
	require.NoError(t, err, "nothing may be deleted")

	require.NoError(t, os.Remove(filepath.Join(dir, "go.mod")))
	require.NoError(t, resetDataDir(dir))
	_, err = os.Stat(dir)
	require.True(t, os.IsNotExist(err))
	require.NoError(t, resetDataDir(dir), "resetting a missing dir is fine")
}

func TestDemoInputIsAValidSubscription(t *testing.T) {
	var in billing.SubscriptionInput
	require.NoError(t, json.Unmarshal([]byte(demoInputJSON()), &in))
	in.Normalize()
	require.NoError(t, in.Validate())
	require.Contains(t, demoCustomers, in.CustomerUID, "the demo customer must be seeded in the emulator")
}

func TestDemoTrialInputIsAValidTrialOnAMinutePlan(t *testing.T) {
	raw := []byte(demoTrialInputJSON())
	require.NoError(t, billing.DecodeStrict(raw, &billing.SubscriptionInput{}), "pasted as printed, every field is one the workflow knows")
	var in billing.SubscriptionInput
	require.NoError(t, json.Unmarshal(raw, &in))
	in.Normalize()
	require.NoError(t, in.Validate())
	require.Contains(t, demoCustomers, in.CustomerUID, "the demo customer must be seeded in the emulator")
	require.NotNil(t, in.Plan.Trial)
	require.Equal(t, calendar.Minute, in.Plan.Interval.Unit, "a law day lasts a minute only on a minute plan")
}

func TestDemoV2InputIsAValidV2Subscription(t *testing.T) {
	raw := []byte(demoV2InputJSON())
	require.NoError(t, billing.DecodeStrict(raw, &billing.SubscriptionInput{}), "pasted as printed, every field is one the workflow knows")
	var in billing.SubscriptionInput
	require.NoError(t, json.Unmarshal(raw, &in))
	in.Normalize()
	require.NoError(t, in.Validate())
	require.Equal(t, billing.GatewayPortOneV2, in.Gateway)
	require.Contains(t, strings.Split(demoV2Keys, ","), in.CustomerUID, "the V2 key must be issued by the emulator at start")
}
