package portone

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

const (
	opGetCustomer      = "GET /subscribe/customers/{customer_uid}"
	opGetCustomers     = "GET /subscribe/customers"
	opDeleteCustomer   = "DELETE /subscribe/customers/{customer_uid}"
	opCustomerPayments = "GET /subscribe/customers/{customer_uid}/payments"
)

// GetCustomer returns the billing key named customerUID.
//
// An unknown customer_uid returns an *APIError matching ErrNotFound. PortOne
// documents HTTP 404 for it but has been seen answering HTTP 200 with a
// non-zero code and "요청하신 customer_uid(...)로 등록된 정보를 찾을 수
// 없습니다."; both are recognised.
//
// PortOne API: GET /subscribe/customers/{customer_uid}
func (c *Client) GetCustomer(ctx context.Context, customerUID string) (*Customer, error) {
	op := opGetCustomer
	if err := checkID(op, "customer_uid", customerUID, maxCustomerUID); err != nil {
		return nil, err
	}
	r := &request{
		op:           op,
		method:       http.MethodGet,
		path:         "/subscribe/customers/" + url.PathEscape(customerUID),
		auth:         true,
		customerUIDs: []string{customerUID},
	}
	raw, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	var cust Customer
	if err := c.decode(r, raw, &cust); err != nil {
		return nil, err
	}
	return &cust, nil
}

// GetCustomers returns the billing keys named by customerUIDs that exist.
// Unknown ones are simply absent: PortOne answers HTTP 207 (or 200 with an
// empty list) rather than failing the whole call.
//
// PortOne API: GET /subscribe/customers?customer_uid[]=...
func (c *Client) GetCustomers(ctx context.Context, customerUIDs []string) ([]Customer, error) {
	op := opGetCustomers
	if len(customerUIDs) == 0 {
		return nil, invalid(op, "customer_uid[]", "must name at least one customer_uid")
	}
	q := url.Values{}
	for i, uid := range customerUIDs {
		if err := checkID(op, fmt.Sprintf("customer_uid[%d]", i), uid, maxCustomerUID); err != nil {
			return nil, err
		}
		q.Add("customer_uid[]", uid)
	}
	r := &request{
		op:           op,
		method:       http.MethodGet,
		path:         "/subscribe/customers",
		query:        q,
		auth:         true,
		customerUIDs: customerUIDs,
	}
	raw, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	return listOf[Customer](c, r, raw)
}

// DeleteCustomer deletes the billing key named customerUID and returns it as
// it was. A deleted key cannot be restored; PortOne advises revoking its
// pending schedules first (Unschedule). NaverPay's review requires Reason and
// Requester.
//
// This is a write: if it returns *UnknownOutcomeError, call GetCustomer to see
// whether the key still exists.
//
// PortOne API: DELETE /subscribe/customers/{customer_uid}?reason=...&extra[requester]=...
func (c *Client) DeleteCustomer(ctx context.Context, customerUID string, req DeleteCustomerRequest) (*Customer, error) {
	op := opDeleteCustomer
	if err := checkID(op, "customer_uid", customerUID, maxCustomerUID); err != nil {
		return nil, err
	}
	if err := checkRequester(op, "extra[requester]", req.Requester); err != nil {
		return nil, err
	}
	q := url.Values{}
	if req.Reason != "" {
		q.Set("reason", req.Reason)
	}
	if req.Requester != "" {
		q.Set("extra[requester]", string(req.Requester))
	}
	r := &request{
		op:           op,
		method:       http.MethodDelete,
		path:         "/subscribe/customers/" + url.PathEscape(customerUID),
		query:        q,
		auth:         true,
		write:        true,
		next:         "call GetCustomer to see whether the billing key still exists before deleting it again",
		customerUIDs: []string{customerUID},
	}
	raw, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	var cust Customer
	if err := c.decode(r, raw, &cust); err != nil {
		return nil, err
	}
	return &cust, nil
}

// CustomerPayments returns one page (up to 20 items) of the payments made
// with the billing key customerUID, newest first. page 0 means the first
// page. An unknown customer_uid gives an empty page.
//
// PortOne API: GET /subscribe/customers/{customer_uid}/payments?page=N
func (c *Client) CustomerPayments(ctx context.Context, customerUID string, page int) (*Page[Payment], error) {
	op := opCustomerPayments
	if err := checkID(op, "customer_uid", customerUID, maxCustomerUID); err != nil {
		return nil, err
	}
	if err := checkPaging(op, page, 0); err != nil {
		return nil, err
	}
	q := url.Values{}
	if page > 0 {
		q.Set("page", strconv.Itoa(page))
	}
	r := &request{
		op:           op,
		method:       http.MethodGet,
		path:         "/subscribe/customers/" + url.PathEscape(customerUID) + "/payments",
		query:        q,
		auth:         true,
		customerUIDs: []string{customerUID},
	}
	raw, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	return pageOf[Payment](c, r, raw)
}

// decodeList accepts a list answer as a paged object or a bare array. A
// null answer is an empty list for reads but no answer at all for writes.
func (c *Client) decodeList(r *request, raw []byte) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if r.write && (len(raw) == 0 || string(raw) == "null") {
		return nil, c.undecodable(r, errors.New("the answer has code 0 but no response"))
	}
	return raw, nil
}

// pageOf decodes a list answer into a Page.
func pageOf[T any](c *Client, r *request, raw []byte) (*Page[T], error) {
	raw, err := c.decodeList(r, raw)
	if err != nil {
		return nil, err
	}
	p, err := decodePage[T](raw)
	if err != nil {
		return nil, c.undecodable(r, fmt.Errorf("decoding the response: %w", err))
	}
	return p, nil
}

// listOf decodes a list answer into a slice.
func listOf[T any](c *Client, r *request, raw []byte) ([]T, error) {
	p, err := pageOf[T](c, r, raw)
	if err != nil {
		return nil, err
	}
	return p.List, nil
}
