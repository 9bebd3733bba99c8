package portone

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	// basePath is non-empty so that a client that builds absolute paths, or
	// drops the base URL's path, fails every test.
	basePath   = "/v1-proxy"
	testKey    = "imp-key-4621973015"
	testSecret = "imp-secret-VvGq2l7nB3xK9mR0pT5sW8yZ1cE4fH6jL"
	testToken  = "tok-5f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6"
	// Customer uids are long enough that masking them hides most of them.
	custUID  = "cust-naver-0000012345"
	custUID2 = "cust-naver-0000067890"
)

// leakWatch collects every error string the tests produce and the strings
// that must never appear in one; TestMain fails the run on a leak.
var leakWatch struct {
	sync.Mutex
	errs      []string
	forbidden []string
}

// collect records errors for the leak check and returns the first one.
func collect(errs ...error) error {
	leakWatch.Lock()
	defer leakWatch.Unlock()
	for _, err := range errs {
		if err != nil {
			leakWatch.errs = append(leakWatch.errs, err.Error())
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs[0]
}

// forbid adds strings that no error may contain.
func forbid(s ...string) {
	leakWatch.Lock()
	defer leakWatch.Unlock()
	leakWatch.forbidden = append(leakWatch.forbidden, s...)
}

// queryFragments are pieces of request URLs; none may surface in an error.
var queryFragments = []string{
	"?", "http://", basePath, "reason=", "extra%5Brequester%5D", "extra[requester]=",
	"customer_uid%5B%5D", "customer_uid[]=", "include_sandbox", "schedule_from=",
	"schedule-status=", "from=", "page=",
}

func init() {
	forbid(testKey, testSecret, testToken, custUID, custUID2)
	forbid(queryFragments...)
}

// leaks returns the collected error strings that contain a forbidden string.
func leaks(errs []string) []string {
	leakWatch.Lock()
	forbidden := append([]string(nil), leakWatch.forbidden...)
	leakWatch.Unlock()
	var out []string
	for _, e := range errs {
		for _, f := range forbidden {
			if f != "" && strings.Contains(e, f) {
				out = append(out, fmt.Sprintf("%q contains %q", e, f))
			}
		}
	}
	return out
}

func TestMain(m *testing.M) {
	code := m.Run()
	leakWatch.Lock()
	errs := append([]string(nil), leakWatch.errs...)
	leakWatch.Unlock()
	if found := leaks(errs); len(found) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d error strings leak secrets, URLs or customer_uids:\n", len(found))
		for _, l := range found {
			fmt.Fprintln(os.Stderr, "  ", l)
		}
		code = 1
	}
	os.Exit(code)
}

// fixture is a client wired to an httptest server whose API routes live on
// mux under basePath.
type fixture struct {
	client     *Client
	mux        *http.ServeMux
	server     *httptest.Server
	tokenCalls atomic.Int64
	// tokenHandler answers POST /users/getToken; set it before the first call.
	tokenHandler http.HandlerFunc
}

// setup returns a client and the mux serving its API routes (go-github style).
func setup(t *testing.T, opts ...Option) (*Client, *http.ServeMux) {
	t.Helper()
	f := newFixture(t, opts...)
	return f.client, f.mux
}

func newFixture(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	f := &fixture{mux: http.NewServeMux()}
	f.tokenHandler = func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().Unix()
		writeOK(w, fmt.Sprintf(`{"access_token":%q,"expired_at":%d,"now":%d}`, testToken, now+1800, now))
	}
	root := http.NewServeMux()
	root.HandleFunc(basePath+"/users/getToken", func(w http.ResponseWriter, r *http.Request) {
		f.tokenCalls.Add(1)
		f.tokenHandler(w, r)
	})
	root.Handle(basePath+"/", http.StripPrefix(basePath, f.mux))
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request outside the base path: %s %s", r.Method, r.URL.Path)
		http.Error(w, "outside the base path", http.StatusTeapot)
	})
	f.server = httptest.NewServer(root)
	t.Cleanup(f.server.Close)

	all := append([]Option{WithBaseURL(f.server.URL + basePath)}, opts...)
	c, err := NewClient(Credentials{Key: testKey, Secret: testSecret}, all...)
	require.NoError(t, err)
	f.client = c
	return f
}

// writeOK writes a successful envelope around response (raw JSON).
func writeOK(w http.ResponseWriter, response string) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"code":0,"message":null,"response":%s}`, response)
}

// writeFail writes a refusal envelope.
func writeFail(w http.ResponseWriter, status, code int, message string) {
	msg, _ := json.Marshal(message)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"code":%d,"message":%s,"response":null}`, code, msg)
}

func testMethod(t *testing.T, r *http.Request, want string) {
	t.Helper()
	assert.Equal(t, want, r.Method, "method")
}

func testAuth(t *testing.T, r *http.Request) {
	t.Helper()
	assert.Equal(t, "Bearer "+testToken, r.Header.Get("Authorization"), "Authorization header")
}

// testQuery asserts the exact query, decoded.
func testQuery(t *testing.T, r *http.Request, want map[string][]string) {
	t.Helper()
	got := map[string][]string(r.URL.Query())
	if len(want) == 0 {
		assert.Empty(t, got, "query")
		return
	}
	assert.Equal(t, want, got, "query")
}

// testJSONBody asserts the body is JSON equal to want.
func testJSONBody(t *testing.T, r *http.Request, want string) {
	t.Helper()
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"), "Content-Type")
	b, err := io.ReadAll(r.Body)
	if !assert.NoError(t, err) {
		return
	}
	assert.JSONEq(t, want, string(b), "body")
}

// hijackClose reads the whole request, then drops the connection without an
// answer: the server may have acted, the client cannot know.
func hijackClose(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		hj, ok := w.(http.Hijacker)
		if !assert.True(t, ok, "hijacker") {
			return
		}
		conn, _, err := hj.Hijack()
		if assert.NoError(t, err) {
			_ = conn.Close()
		}
	}
}

// fakeClock is a settable clock for token-expiry tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Sample answers.
const (
	paidPaymentJSON = `{
		"imp_uid":"imp_448280090638","merchant_uid":"sub-42-c3-a1","pay_method":"naverpay",
		"channel":"api","pg_provider":"naverpay","emb_pg_provider":null,"pg_tid":"20240101NP0001",
		"pg_id":"np_mid","sandbox":true,"escrow":false,"apply_num":"30012345","bank_code":null,
		"bank_name":null,"card_code":"361","card_name":"BC카드","card_issuer_code":null,
		"card_issuer_name":null,"card_publisher_code":null,"card_publisher_name":null,
		"card_quota":0,"card_number":"910020*********5","card_type":null,"vbank_code":null,
		"vbank_name":null,"vbank_num":null,"vbank_holder":null,"vbank_date":0,"vbank_issued_at":0,
		"name":"월간 구독 3회차","amount":9900,"cancel_amount":0,"currency":"KRW",
		"buyer_name":"홍길동","buyer_email":null,"buyer_tel":"010-1234-5678","buyer_addr":null,
		"buyer_postcode":null,"custom_data":"{\"cycle\":3}","user_agent":"sorry_not_supported",
		"status":"paid","started_at":1704067200,"paid_at":1704067201,"failed_at":0,"cancelled_at":0,
		"fail_reason":null,"cancel_reason":null,"receipt_url":"https://example.test/receipt",
		"cancel_history":[],"cancel_receipt_urls":[],"cash_receipt_issued":false,
		"customer_uid":"cust-naver-0000012345","customer_uid_usage":"payment"}`
	declinedPaymentJSON = `{"imp_uid":"imp_448280090639","merchant_uid":"sub-42-c3-a1",
		"status":"failed","amount":"9900","cancel_amount":null,"currency":"KRW","sandbox":true,
		"fail_reason":"[1003] 잔액이 부족합니다","failed_at":1704067202,"paid_at":0,
		"customer_uid":"cust-naver-0000012345","customer_uid_usage":"payment","card_type":1}`
	cancelledPaymentJSON = `{"imp_uid":"imp_448280090638","merchant_uid":"sub-42-c3-a1",
		"status":"cancelled","amount":9900.0,"cancel_amount":9900,"currency":"KRW","sandbox":true,
		"cancelled_at":1704153600,"cancel_reason":"고객 요청","cancel_history":[{"pg_tid":"np-c-1",
		"amount":9900,"cancelled_at":1704153600,"reason":"고객 요청","cancellation_id":"cncl_01",
		"receipt_url":"https://example.test/cancel"}]}`
	customerJSON = `{"customer_uid":"cust-naver-0000012345","pg_provider":"naverpay","pg_id":"np_mid",
		"sandbox":true,"customer_id":null,"card_name":null,"card_code":null,"card_issuer_code":null,
		"card_issuer_name":null,"card_publisher_code":null,"card_publisher_name":null,
		"card_number":null,"card_type":null,"customer_name":"홍길동","customer_tel":"010-1234-5678",
		"customer_email":null,"customer_addr":null,"customer_postcode":null,
		"inserted":1704000000,"updated":1704000000}`
	scheduledJSON = `{"customer_uid":"cust-naver-0000012345","merchant_uid":"sub-42-c4-a1",
		"imp_uid":null,"pg_provider":"naverpay","pg_id":"np_mid","customer_id":null,
		"schedule_at":1706745600,"executed_at":0,"revoked_at":0,"amount":9900,"currency":"KRW",
		"name":"월간 구독 4회차","buyer_name":null,"buyer_email":null,"buyer_tel":null,
		"buyer_addr":null,"buyer_postcode":null,"custom_data":null,"schedule_status":"scheduled",
		"payment_status":null,"fail_reason":null,"promotion_id":null}`
	executedJSON = `{"customer_uid":"cust-naver-0000012345","merchant_uid":"sub-42-c3-a1",
		"imp_uid":"imp_448280090638","schedule_at":1704067200,"executed_at":1704067201,
		"revoked_at":0,"amount":"9900","currency":"KRW","name":"월간 구독 3회차",
		"schedule_status":"executed","payment_status":"paid","fail_reason":null}`
)

// againReq is a valid charge.
func againReq() AgainRequest {
	return AgainRequest{
		CustomerUID: custUID,
		MerchantUID: "sub-42-c3-a1",
		Amount:      9900,
		Name:        "월간 구독 3회차",
	}
}
