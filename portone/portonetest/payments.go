package portonetest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"time"
)

// Messages PortOne is observed to return (v1-api.md §4, §7), used verbatim.
const (
	msgCustomerNotRegistered = "등록되지 않은 구매자입니다."
	msgMerchantUIDUsed       = "이미 주문이 이루어진 건입니다. (동일한 merchant_uid로 결제 또는 취소된 기록이 있습니다)"
	msgPaymentNotFound       = "존재하지 않는 결제정보입니다."
	msgNothingToCancel       = "취소할 결제건이 존재하지 않습니다."
	msgAlreadyCancelled      = "이미 전액취소된 주문입니다."
)

// Messages the emulator had to invent. Each is a guess at PortOne's behaviour (see README).
const (
	// msgNaverPayMinAmount: NaverPay's 10 KRW minimum is documented, its error text is not.
	msgNaverPayMinAmount = "[네이버페이] 최소 결제금액은 10원입니다."
	// msgNaverUseCfm: the yyyyMMdd, not-before-the-payment-day rule is documented, its error
	// text is not.
	msgNaverUseCfm = "[네이버페이] 이용완료일(extra.naverUseCfm)은 결제일 당일 또는 이후의 날짜를 yyyyMMdd 형식으로 입력해주세요."
	// msgMerchantUIDScheduled: charging a merchant_uid that a pending schedule will use.
	msgMerchantUIDScheduled = "동일한 merchant_uid로 예약된 결제가 존재합니다. (예약결제를 취소한 후 요청해주세요)"
	// defaultErrorBeforeCommitMessage is the body of an injected error_before_commit.
	defaultErrorBeforeCommitMessage = "PG사 통신 중 오류가 발생했습니다. 잠시 후 다시 시도해주세요. (emulator fault: error_before_commit)"
)

// Default decline reasons for faults that do not give one. Real fail_reason texts are free
// PG text; these imitate NaverPay's style.
const (
	// DefaultDeclineReason is the fail_reason of a decline fault without a Reason.
	DefaultDeclineReason = "[네이버페이] 결제수단의 잔액이 부족합니다."
	// DefaultHardDeclineReason is the fail_reason of a hard decline fault without a Reason,
	// and of every later charge on the key it invalidated: the user ended the recurring
	// registration in the Naver app, so the billing key can never be charged again.
	DefaultHardDeclineReason = "[네이버페이] 정기결제 등록이 해지되어 유효하지 않은 빌링키입니다. 빌링키를 다시 발급해주세요."
	// deletedKeyReason is the fail_reason of a scheduled payment whose key was deleted.
	// Guess: PortOne does not document what happens to schedules of a deleted key.
	deletedKeyReason = "등록되지 않은 구매자입니다. (예약결제 실행 시점에 빌링키가 삭제되어 있습니다)"
)

var yyyymmdd = regexp.MustCompile(`^[0-9]{8}$`)

// checkNaverUseCfm validates extra.naverUseCfm against the payment day (in KST).
func checkNaverUseCfm(cfm string, payDay time.Time) bool {
	if !yyyymmdd.MatchString(cfm) {
		return false
	}
	d, err := time.ParseInLocation("20060102", cfm, kst)
	if err != nil || d.Format("20060102") != cfm {
		return false
	}
	return cfm >= kstDate(payDay)
}

// paidPaymentLocked returns a payment with merchantUID that was approved (paid, or paid and
// cancelled): PortOne refuses to reuse such a merchant_uid.
func (m *merchant) paidPaymentLocked(merchantUID string) *payment {
	for _, p := range m.payments {
		if p.merchantUID == merchantUID && p.wasPaid() {
			return p
		}
	}
	return nil
}

// newPaymentLocked creates a payment in state "ready" and stores it everywhere it is looked
// up. cust supplies the PG and card fields.
func (e *Emulator) newPaymentLocked(m *merchant, now time.Time, cust *customer, merchantUID, name string,
	amount, taxFree int64, b buyer, customData *string, noticeURL, usage string) *payment {
	p := &payment{
		seq: e.nextSeq(), m: m,
		impUID: e.newImpUIDLocked(), merchantUID: merchantUID,
		channel:    "api",
		pgProvider: cust.pgProvider, pgID: cust.pgID,
		cardName: cust.cardName, cardCode: cust.cardCode, cardNumber: cust.cardNumber, cardType: cust.cardType,
		name: name, amount: amount, taxFree: taxFree, currency: "KRW",
		buyer: b, customData: customData, status: statusReady,
		startedAt: now.Unix(), updatedAt: now.Unix(),
		customerUID: cust.uid, usage: usage, noticeURL: noticeURL, createdAt: now,
	}
	// Guess: pay_method of a NaverPay billing payment is undocumented; "naverpay" is in the
	// documented pay_method list.
	p.payMethod = "card"
	if cust.pgProvider == PGNaverPay {
		p.payMethod = "naverpay"
	}
	m.payments = append(m.payments, p)
	m.byImp[p.impUID] = p
	e.payments = append(e.payments, p)
	return p
}

func (e *Emulator) approveLocked(p *payment, now time.Time) {
	p.status = statusPaid
	p.paidAt = now.Unix()
	p.updatedAt = now.Unix()
	p.applyNum = randomDigits(8)
	p.pgTID = fmt.Sprintf("%s%s", now.In(kst).Format("20060102"), randomDigits(12))
	p.receiptURL = receiptURL(p.impUID)
}

func (e *Emulator) failLocked(p *payment, now time.Time, reason string) {
	p.status = statusFailed
	p.failedAt = now.Unix()
	p.updatedAt = now.Unix()
	p.failReason = reason
}

// chargeRequest is a validated charge: from POST /subscribe/payments/again or from a due
// schedule.
type chargeRequest struct {
	m           *merchant
	cust        *customer
	merchantUID string
	name        string
	amount      int64
	taxFree     int64
	buyer       buyer
	customData  *string
	noticeURL   string
	naverUseCfm string
	usage       string
	op          FaultOp
}

// chargeLocked runs the PG's side of a charge: it creates the payment and approves or
// declines it. It returns the decline_code fault when one fired, because that outcome is
// reported to the caller as a code -1 refusal although the failed payment is stored.
func (e *Emulator) chargeLocked(req chargeRequest, now time.Time) (*payment, *Fault) {
	cust := req.cust
	p := e.newPaymentLocked(req.m, now, cust, req.merchantUID, req.name, req.amount, req.taxFree,
		req.buyer.orFrom(cust), req.customData, req.noticeURL, req.usage)
	p.naverUseCfm = req.naverUseCfm
	subj := subject{merchant: req.m.key, customerUID: cust.uid, merchantUID: req.merchantUID}

	var declined *Fault
	switch {
	case cust.invalidReason != "":
		e.failLocked(p, now, cust.invalidReason)
	default:
		actions := []FaultAction{FaultDecline, FaultDeclineCode, FaultAmountMismatch}
		if req.op == OpScheduleExecution {
			// Nobody waits for a scheduled execution's answer, so an injected PG error
			// becomes a failed attempt.
			actions = append(actions, FaultErrorBeforeCommit)
		}
		f := e.fireLocked(req.op, subj, actions...)
		if f == nil {
			e.approveLocked(p, now)
			break
		}
		if f.Action == FaultAmountMismatch {
			p.amount = f.PaidAmount
			if p.amount == 0 {
				p.amount = req.amount + DefaultMismatchDelta
			}
			p.taxFree = min(p.taxFree, p.amount)
			e.approveLocked(p, now)
			break
		}
		reason := f.Reason
		switch {
		case reason != "":
		case f.Hard:
			reason = DefaultHardDeclineReason
		case f.Action == FaultErrorBeforeCommit:
			reason = defaultErrorBeforeCommitMessage
		default:
			reason = DefaultDeclineReason
		}
		if f.Hard {
			cust.invalidReason = reason
		}
		e.failLocked(p, now, reason)
		if f.Action == FaultDeclineCode {
			declined = f
		}
	}
	e.log.Info("charge",
		slog.String("merchant", maskKey(req.m.key)), slog.String("usage", req.usage),
		slog.String("imp_uid", p.impUID), slog.String("merchant_uid", p.merchantUID),
		slog.String("customer_uid", cust.uid), slog.Int64("amount", p.amount),
		slog.String("status", p.status), slog.String("fail_reason", p.failReason),
		slog.String("buyer_tel", maskTel(p.buyer.tel)), slog.String("buyer_email", maskEmail(p.buyer.email)))
	return p, declined
}

// noticeURL picks the request's notice_url, else the console default.
func (e *Emulator) noticeURL(requested string) string {
	if requested != "" {
		return requested
	}
	return e.opts.DefaultNoticeURL
}

// chargeFields are the request fields shared by again and each schedules[] entry.
type chargeFields struct {
	merchantUID string
	amount      int64
	hasAmount   bool
	taxFree     int64
	name        string
	buyer       buyer
	customData  *string
	noticeURL   string
	naverUseCfm string
}

// readChargeFields reads and type-checks the fields; it returns a code-1 message on error.
func readChargeFields(p params) (chargeFields, string) {
	var f chargeFields
	var errs []error
	str := func(key string) string {
		v, _, err := p.str(key)
		if err != nil {
			errs = append(errs, err)
		}
		return v
	}
	f.merchantUID = str("merchant_uid")
	f.name = str("name")
	f.buyer = buyer{name: str("buyer_name"), email: str("buyer_email"), tel: str("buyer_tel"), addr: str("buyer_addr"), postcode: str("buyer_postcode")}
	f.noticeURL = str("notice_url")
	if cd, given, err := p.str("custom_data"); err != nil {
		// custom_data is a string on the wire, but clients often send an object; PortOne
		// stores it serialised. Accept objects and arrays by re-encoding them.
		if enc, encErr := reencode(p.m["custom_data"]); encErr == nil {
			f.customData = &enc
		} else {
			errs = append(errs, err)
		}
	} else if given {
		f.customData = &cd
	}
	var err error
	if f.amount, f.hasAmount, err = p.int("amount"); err != nil {
		errs = append(errs, err)
	}
	if f.taxFree, _, err = p.int("tax_free"); err != nil {
		errs = append(errs, err)
	}
	extra, _, err := p.obj("extra")
	if err != nil {
		errs = append(errs, err)
	} else {
		f.naverUseCfm, _, err = extra.str("naverUseCfm")
		if err != nil {
			errs = append(errs, err)
		}
	}
	if cur, _, err := p.str("currency"); err == nil && cur != "" && cur != "KRW" {
		return f, fmt.Sprintf("%s: 지원하지 않는 통화입니다. (네이버페이는 KRW만 지원합니다)", p.name("currency"))
	}
	if len(errs) > 0 {
		return f, errs[0].Error()
	}
	return f, ""
}

// missingField returns PortOne-style text for a missing required parameter.
func missingField(p params, key string) string {
	return fmt.Sprintf("%s 파라메터가 누락되었습니다.", p.name(key))
}

// checkLengths enforces the documented maximum lengths.
func checkLengths(p params, f chargeFields) string {
	limits := []struct {
		key string
		val string
		max int
	}{
		{"merchant_uid", f.merchantUID, 40}, {"name", f.name, 40},
		{"buyer_name", f.buyer.name, 16}, {"buyer_tel", f.buyer.tel, 16},
		{"buyer_email", f.buyer.email, 64}, {"buyer_addr", f.buyer.addr, 128},
		{"buyer_postcode", f.buyer.postcode, 8},
	}
	for _, l := range limits {
		if n := len([]rune(l.val)); n > l.max {
			return fmt.Sprintf("%s 파라메터는 최대 %d자까지 입력 가능합니다. (%d자)", p.name(l.key), l.max, n)
		}
	}
	return ""
}

// checkAmounts validates amount and tax_free, and NaverPay's minimum. It returns the code and
// message of a refusal.
func checkAmounts(p params, f chargeFields, pgProvider string) (int, string) {
	if f.amount <= 0 {
		return 1, fmt.Sprintf("%s 파라메터는 0보다 큰 금액이어야 합니다.", p.name("amount"))
	}
	if f.taxFree < 0 || f.taxFree > f.amount {
		return 1, fmt.Sprintf("%s(%d)는 0 이상이며 결제금액 %s(%d)보다 클 수 없습니다.", p.name("tax_free"), f.taxFree, p.name("amount"), f.amount)
	}
	if pgProvider == PGNaverPay && f.amount < 10 {
		return -1, msgNaverPayMinAmount
	}
	return 0, ""
}

// handleAgain serves POST /subscribe/payments/again.
func (e *Emulator) handleAgain(c *call) result {
	customerUID, _, err := c.p.str("customer_uid")
	if err != nil {
		return refuse(http.StatusOK, 1, err.Error())
	}
	f, msg := readChargeFields(c.p)
	if msg != "" {
		return refuse(http.StatusOK, 1, msg)
	}
	switch {
	case customerUID == "":
		return refuse(http.StatusOK, 1, missingField(c.p, "customer_uid"))
	case f.merchantUID == "":
		return refuse(http.StatusOK, 1, missingField(c.p, "merchant_uid"))
	case !f.hasAmount:
		return refuse(http.StatusOK, 1, missingField(c.p, "amount"))
	case f.name == "":
		// The spec marks name required; some PGs enforce it. Guess: enforced for all.
		return refuse(http.StatusOK, 1, missingField(c.p, "name"))
	}
	if msg := checkLengths(c.p, f); msg != "" {
		return refuse(http.StatusOK, 1, msg)
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	cust := c.m.customers[customerUID]
	if cust == nil {
		// Observed code -1 in a 2017 run (another old client asserted 1).
		return refuse(http.StatusOK, -1, msgCustomerNotRegistered)
	}
	if c.m.paidPaymentLocked(f.merchantUID) != nil {
		return refuse(http.StatusOK, 1, msgMerchantUIDUsed)
	}
	// Guess: PortOne's reaction to charging a merchant_uid a pending schedule will use is
	// undocumented; refusing it keeps "one charge per merchant_uid" true.
	if s := c.m.scheduleByMUID[f.merchantUID]; s != nil && s.status == scheduleScheduled {
		return refuse(http.StatusOK, 1, msgMerchantUIDScheduled)
	}
	if code, msg := checkAmounts(c.p, f, cust.pgProvider); msg != "" {
		return refuse(http.StatusOK, code, msg)
	}
	if cust.pgProvider == PGNaverPay && f.naverUseCfm != "" && !checkNaverUseCfm(f.naverUseCfm, now) {
		return refuse(http.StatusOK, -1, msgNaverUseCfm)
	}

	p, declined := e.chargeLocked(chargeRequest{
		m: c.m, cust: cust, merchantUID: f.merchantUID, name: f.name,
		amount: f.amount, taxFree: f.taxFree, buyer: f.buyer, customData: f.customData,
		noticeURL: f.noticeURL, naverUseCfm: f.naverUseCfm, usage: usagePayment, op: OpAgain,
	}, now)
	if declined != nil {
		// Some PGs surface a refusal as code -1 with their text; the failed payment is stored.
		return refuse(http.StatusOK, -1, p.failReason)
	}
	if p.status == statusPaid {
		// PortOne notifies approvals only: a failed again sends no webhook.
		e.enqueueWebhookLocked(c.m, e.noticeURL(f.noticeURL), p, statusPaid, "", OpAgain)
	}
	res := ok(p.wire())
	if p.status == statusPaid {
		res.after = e.fireLocked(c.op, subject{merchant: c.m.key, customerUID: cust.uid, merchantUID: p.merchantUID},
			FaultCommitThenDrop, FaultLatencyAfterCommit)
	}
	return res
}

// ---- lookups ----

// visible applies include_sandbox: payments on a test channel are hidden unless asked for.
func visible(p *payment, includeSandbox bool) bool { return !p.m.sandbox || includeSandbox }

func includeSandbox(q params) (bool, result, bool) {
	v, _, err := q.boolean("include_sandbox")
	if err != nil {
		return false, refuse(http.StatusBadRequest, 1, err.Error()), true
	}
	return v, result{}, false
}

// handleGetPayment serves GET /payments/{imp_uid}.
func (e *Emulator) handleGetPayment(c *call) result {
	sandbox, res, bad := includeSandbox(c.q)
	if bad {
		return res
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	p := c.m.byImp[c.vars["imp_uid"]]
	if p == nil || !visible(p, sandbox) {
		return refuse(http.StatusNotFound, 1, msgPaymentNotFound)
	}
	return ok(p.wire())
}

// handleGetPayments serves GET /payments?imp_uid[]=..&merchant_uid[]=.. (at most 100 ids):
// 200 when every id was found, 207 when some were, 404 when none was (Guess: the document
// declares 404 without saying when). A merchant_uid yields its newest payment.
func (e *Emulator) handleGetPayments(c *call) result {
	sandbox, res, bad := includeSandbox(c.q)
	if bad {
		return res
	}
	imps, err1 := c.q.strList("imp_uid")
	muids, err2 := c.q.strList("merchant_uid")
	if err1 != nil || err2 != nil {
		return refuse(http.StatusBadRequest, 1, "imp_uid[], merchant_uid[] 파라메터의 형식이 올바르지 않습니다.")
	}
	n := len(imps) + len(muids)
	if n == 0 {
		return refuse(http.StatusBadRequest, 1, "imp_uid[] 또는 merchant_uid[] 파라메터가 누락되었습니다.")
	}
	if n > 100 {
		return refuse(http.StatusBadRequest, 1, "한 번에 최대 100건까지 조회할 수 있습니다.")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	list := []wirePayment{}
	for _, id := range imps {
		if p := c.m.byImp[id]; p != nil && visible(p, sandbox) {
			list = append(list, p.wire())
		}
	}
	for _, muid := range muids {
		ps := c.m.paymentsByMUIDLocked(muid, "", sandbox)
		if len(ps) > 0 {
			sortPayments(ps, "-started")
			list = append(list, ps[0].wire())
		}
	}
	switch {
	case len(list) == 0:
		return refuse(http.StatusNotFound, 1, msgPaymentNotFound)
	case len(list) < n:
		res := ok(list)
		res.status = http.StatusMultiStatus
		return res
	default:
		return ok(list)
	}
}

func (m *merchant) paymentsByMUIDLocked(merchantUID, status string, includeSandbox bool) []*payment {
	var out []*payment
	for _, p := range m.payments {
		if p.merchantUID == merchantUID && (status == "" || p.status == status) && visible(p, includeSandbox) {
			out = append(out, p)
		}
	}
	return out
}

var paymentStatuses = []string{statusReady, statusPaid, statusFailed, statusCancelled}

var paymentSortings = []string{"-started", "started", "-paid", "paid", "-updated", "updated"}

// sortPayments orders payments by PortOne's sorting parameter; ties keep creation order
// (reversed for descending sorts).
func sortPayments(ps []*payment, sorting string) {
	desc := sorting[0] == '-'
	key := func(p *payment) int64 {
		switch sorting {
		case "-paid", "paid":
			return p.paidAt
		case "-updated", "updated":
			return p.updatedAt
		default:
			return p.startedAt
		}
	}
	slices.SortStableFunc(ps, func(a, b *payment) int {
		r := cmp.Or(cmp.Compare(key(a), key(b)), cmp.Compare(a.seq, b.seq))
		if desc {
			return -r
		}
		return r
	})
}

// findParams reads the shared parameters of find and findAll.
func findParams(c *call) (status, sorting string, sandbox bool, res result, bad bool) {
	status = c.vars["payment_status"]
	if status != "" && !slices.Contains(paymentStatuses, status) {
		return "", "", false, refuse(http.StatusBadRequest, 1, fmt.Sprintf("payment_status는 %v 중 하나여야 합니다.", paymentStatuses)), true
	}
	sorting, _, err := c.q.str("sorting")
	if err != nil || (sorting != "" && !slices.Contains(paymentSortings, sorting)) {
		return "", "", false, refuse(http.StatusBadRequest, 1, fmt.Sprintf("sorting은 %v 중 하나여야 합니다.", paymentSortings)), true
	}
	if sorting == "" {
		sorting = "-started"
	}
	sandbox, res, bad = includeSandbox(c.q)
	return status, sorting, sandbox, res, bad
}

// handleFindPayment serves GET /payments/find/{merchant_uid}[/{payment_status}]: the first
// payment by sorting (default -started, i.e. the newest), optionally of one status.
func (e *Emulator) handleFindPayment(c *call) result {
	status, sorting, sandbox, res, bad := findParams(c)
	if bad {
		return res
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ps := c.m.paymentsByMUIDLocked(c.vars["merchant_uid"], status, sandbox)
	if len(ps) == 0 {
		return refuse(http.StatusNotFound, 1, msgPaymentNotFound)
	}
	sortPayments(ps, sorting)
	return ok(ps[0].wire())
}

// handleFindAllPayments serves GET /payments/findAll/{merchant_uid}[/{payment_status}]: every
// payment with the merchant_uid, paged (limit default 20, at most 1000); 404 when none.
func (e *Emulator) handleFindAllPayments(c *call) result {
	status, sorting, sandbox, res, bad := findParams(c)
	if bad {
		return res
	}
	pageNo, res, bad := pageParam(c.q, "page")
	if bad {
		return res
	}
	limit, res, bad := limitParam(c.q, "limit")
	if bad {
		return res
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ps := c.m.paymentsByMUIDLocked(c.vars["merchant_uid"], status, sandbox)
	if len(ps) == 0 {
		return refuse(http.StatusNotFound, 1, msgPaymentNotFound)
	}
	sortPayments(ps, sorting)
	list := make([]wirePayment, 0, len(ps))
	for _, p := range ps {
		list = append(list, p.wire())
	}
	return ok(paginate(list, pageNo, limit))
}

// limitParam reads a page size: default 20, 1..1000.
func limitParam(q params, key string) (int, result, bool) {
	n, given, err := q.int(key)
	if err != nil || (given && (n < 1 || n > 1000)) {
		return 0, refuse(http.StatusBadRequest, 1, fmt.Sprintf("%s 파라메터는 1 이상 1000 이하의 정수여야 합니다.", key)), true
	}
	if !given {
		return 20, result{}, false
	}
	return int(n), result{}, false
}

// reencode serialises a decoded JSON value back to JSON text.
func reencode(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
