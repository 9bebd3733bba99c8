package portone

import (
	"fmt"
	"net/url"
	"time"
	"unicode/utf8"
)

// Field limits from PortOne's V1 spec. PortOne counts characters, not bytes,
// so lengths are counted in runes.
const (
	maxMerchantUID   = 40
	maxCustomerUID   = 80
	maxImpUID        = 32
	maxName          = 40
	maxBuyerName     = 16
	maxBuyerTel      = 16
	maxBuyerEmail    = 64
	maxBuyerAddr     = 128
	maxBuyerPostcode = 8
	maxPageLimit     = 1000
)

// kst is Korea Standard Time. Korea has no daylight saving time, so a fixed
// zone is exact and needs no tzdata.
var kst = time.FixedZone("KST", 9*60*60)

func invalid(op, field, format string, args ...any) error {
	return &ValidationError{Op: op, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// checkID checks a required identifier that may end up in a URL path.
func checkID(op, field, v string, limit int) error {
	if v == "" {
		return invalid(op, field, "is required")
	}
	if n := utf8.RuneCountInString(v); n > limit {
		return invalid(op, field, "must be at most %d characters (got %d)", limit, n)
	}
	if !utf8.ValidString(v) {
		return invalid(op, field, "is not valid UTF-8")
	}
	if v == "." || v == ".." {
		// Escaping leaves dot segments alone, and they would change the route.
		return invalid(op, field, "must not be %q", v)
	}
	return nil
}

// checkMax checks an optional text field.
func checkMax(op, field, v string, limit int) error {
	if n := utf8.RuneCountInString(v); n > limit {
		return invalid(op, field, "must be at most %d characters (got %d)", limit, n)
	}
	return nil
}

func checkName(op, field, v string) error {
	if v == "" {
		return invalid(op, field, "is required")
	}
	return checkMax(op, field, v, maxName)
}

func checkBuyer(op, prefix string, b Buyer) error {
	fields := []struct {
		name  string
		v     string
		limit int
	}{
		{"buyer_name", b.Name, maxBuyerName},
		{"buyer_email", b.Email, maxBuyerEmail},
		{"buyer_tel", b.Tel, maxBuyerTel},
		{"buyer_addr", b.Addr, maxBuyerAddr},
		{"buyer_postcode", b.Postcode, maxBuyerPostcode},
	}
	for _, f := range fields {
		if err := checkMax(op, prefix+f.name, f.v, f.limit); err != nil {
			return err
		}
	}
	return nil
}

// checkCharge checks the amount of a charge against the client's minimum.
func (c *Client) checkCharge(op, prefix string, amount, taxFree KRW) error {
	if amount <= 0 || amount < c.minAmount {
		return invalid(op, prefix+"amount", "must be at least %d KRW (got %d)", max(c.minAmount, 1), amount)
	}
	if taxFree < 0 {
		return invalid(op, prefix+"tax_free", "must not be negative")
	}
	if taxFree > amount {
		return invalid(op, prefix+"tax_free", "must not exceed amount")
	}
	return nil
}

func checkNoticeURL(op, field, v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid(op, field, "must be an absolute http or https URL")
	}
	return nil
}

// parseNaverUseCfm checks extra.naverUseCfm: exactly 8 digits forming a real
// calendar date. It returns the date at midnight KST; the zero time when v is empty.
func parseNaverUseCfm(op, field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if len(v) != 8 {
		return time.Time{}, invalid(op, field, "must be a yyyyMMdd date")
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return time.Time{}, invalid(op, field, "must be a yyyyMMdd date")
		}
	}
	d, err := time.ParseInLocation("20060102", v, kst)
	if err != nil {
		return time.Time{}, invalid(op, field, "must be a real calendar date (yyyyMMdd)")
	}
	return d, nil
}

func checkRequester(op, field string, r Requester) error {
	if r != "" && !r.valid() {
		return invalid(op, field, "must be %q or %q", RequesterCustomer, RequesterAdmin)
	}
	return nil
}

func checkPaging(op string, page, limit int) error {
	if page < 0 {
		return invalid(op, "page", "must not be negative")
	}
	if limit < 0 || limit > maxPageLimit {
		return invalid(op, "limit", "must be between 1 and %d, or 0 for PortOne's default", maxPageLimit)
	}
	return nil
}

func checkWindow(op, fromField, toField string, from, to time.Time) error {
	if from.IsZero() {
		return invalid(op, fromField, "is required")
	}
	if to.IsZero() {
		return invalid(op, toField, "is required")
	}
	if !to.After(from) {
		return invalid(op, toField, "must be after %s", fromField)
	}
	return nil
}

func (c *Client) validateAgain(op string, req *AgainRequest) error {
	if err := checkID(op, "customer_uid", req.CustomerUID, maxCustomerUID); err != nil {
		return err
	}
	if err := checkID(op, "merchant_uid", req.MerchantUID, maxMerchantUID); err != nil {
		return err
	}
	if err := checkName(op, "name", req.Name); err != nil {
		return err
	}
	if err := c.checkCharge(op, "", req.Amount, req.TaxFree); err != nil {
		return err
	}
	if err := checkBuyer(op, "", req.Buyer); err != nil {
		return err
	}
	if err := checkNoticeURL(op, "notice_url", req.NoticeURL); err != nil {
		return err
	}
	_, err := parseNaverUseCfm(op, "extra.naverUseCfm", req.NaverUseCfm)
	return err
}

func (c *Client) validateSchedule(op string, req *ScheduleRequest) error {
	if err := checkID(op, "customer_uid", req.CustomerUID, maxCustomerUID); err != nil {
		return err
	}
	if len(req.Schedules) == 0 {
		return invalid(op, "schedules", "must have at least one entry")
	}
	seen := make(map[string]int, len(req.Schedules))
	for i, e := range req.Schedules {
		p := fmt.Sprintf("schedules[%d].", i)
		if err := checkID(op, p+"merchant_uid", e.MerchantUID, maxMerchantUID); err != nil {
			return err
		}
		if j, dup := seen[e.MerchantUID]; dup {
			return invalid(op, p+"merchant_uid", "duplicates schedules[%d].merchant_uid; every schedule needs its own", j)
		}
		seen[e.MerchantUID] = i
		if e.ScheduleAt.IsZero() {
			return invalid(op, p+"schedule_at", "is required")
		}
		if err := checkName(op, p+"name", e.Name); err != nil {
			return err
		}
		if err := c.checkCharge(op, p, e.Amount, e.TaxFree); err != nil {
			return err
		}
		if err := checkBuyer(op, p, e.Buyer); err != nil {
			return err
		}
		if err := checkNoticeURL(op, p+"notice_url", e.NoticeURL); err != nil {
			return err
		}
		d, err := parseNaverUseCfm(op, p+"extra.naverUseCfm", e.NaverUseCfm)
		if err != nil {
			return err
		}
		// NaverPay wants the service-completion date on or after the
		// payment day, which for a schedule is schedule_at's day in Korea.
		if !d.IsZero() {
			at := e.ScheduleAt.In(kst)
			day := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, kst)
			if d.Before(day) {
				return invalid(op, p+"extra.naverUseCfm", "must not be before the day of schedule_at (KST)")
			}
		}
	}
	return nil
}

func validateUnschedule(op string, req *UnscheduleRequest) error {
	if req.CustomerUID == "" && len(req.MerchantUIDs) == 0 {
		return invalid(op, "customer_uid", "customer_uid or merchant_uid is required")
	}
	if req.CustomerUID != "" {
		if err := checkID(op, "customer_uid", req.CustomerUID, maxCustomerUID); err != nil {
			return err
		}
	}
	for i, m := range req.MerchantUIDs {
		if err := checkID(op, fmt.Sprintf("merchant_uid[%d]", i), m, maxMerchantUID); err != nil {
			return err
		}
	}
	return nil
}

func validateCancel(op string, req *CancelRequest) error {
	if req.ImpUID == "" && req.MerchantUID == "" {
		return invalid(op, "imp_uid", "imp_uid or merchant_uid is required")
	}
	if req.ImpUID != "" {
		if err := checkID(op, "imp_uid", req.ImpUID, maxImpUID); err != nil {
			return err
		}
	}
	if req.MerchantUID != "" {
		if err := checkID(op, "merchant_uid", req.MerchantUID, maxMerchantUID); err != nil {
			return err
		}
	}
	if req.Amount < 0 {
		return invalid(op, "amount", "must not be negative (0 refunds everything left)")
	}
	if req.TaxFree < 0 {
		return invalid(op, "tax_free", "must not be negative")
	}
	if req.Amount > 0 && req.TaxFree > req.Amount {
		return invalid(op, "tax_free", "must not exceed amount")
	}
	if req.Checksum != nil && *req.Checksum < 0 {
		return invalid(op, "checksum", "must not be negative")
	}
	return checkRequester(op, "extra.requester", req.Requester)
}
