package portone

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKRW_UnmarshalJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		give    string
		want    KRW
		wantErr bool
	}{
		{give: `1000`, want: 1000},
		{give: `1000.0`, want: 1000},
		{give: `1e3`, want: 1000},
		{give: `"1000"`, want: 1000},
		{give: `" 1000.00 "`, want: 1000},
		{give: `null`, want: 0},
		{give: `""`, want: 0},
		{give: `-500`, want: -500},
		{give: `9007199254740993`, want: 9007199254740993}, // beyond float64 precision
		{give: `99.5`, wantErr: true},
		{give: `"abc"`, wantErr: true},
		{give: `true`, wantErr: true},
		{give: `1e400`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			t.Parallel()
			var got struct {
				Amount KRW `json:"amount"`
			}
			err := json.Unmarshal([]byte(`{"amount":`+tt.give+`}`), &got)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got.Amount)
		})
	}
}

func TestKRW_MarshalJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(struct {
		A KRW  `json:"a"`
		B *KRW `json:"b"`
	}{A: 9900, B: new(KRW)})
	require.NoError(t, err)
	require.JSONEq(t, `{"a":9900,"b":0}`, string(b))
	require.Equal(t, `{"a":9900,"b":0}`, string(b), "integers, never 9900.0")
}

func TestPayment_Decode(t *testing.T) {
	t.Parallel()
	var p Payment
	require.NoError(t, json.Unmarshal([]byte(paidPaymentJSON), &p))
	require.Equal(t, "imp_448280090638", p.ImpUID)
	require.Equal(t, StatusPaid, p.Status)
	require.Equal(t, KRW(9900), p.Amount)
	require.Nil(t, p.CardType, "card_type null stays nil")
	require.Empty(t, p.BuyerEmail, "null strings decode to empty")
	require.Equal(t, `{"cycle":3}`, p.CustomData)
	require.Equal(t, int64(1704067201), p.PaidAt)
	require.Equal(t, custUID, p.CustomerUID)
	require.Equal(t, "payment", p.CustomerUIDUsage)
	require.Equal(t, "api", p.Channel)
	require.True(t, p.Sandbox)
	require.NotNil(t, p.CancelHistory)

	var d Payment
	require.NoError(t, json.Unmarshal([]byte(declinedPaymentJSON), &d))
	require.Equal(t, StatusFailed, d.Status)
	require.Equal(t, KRW(9900), d.Amount, `"9900" as a string`)
	require.NotNil(t, d.CardType)
	require.Equal(t, 1, *d.CardType)

	var c Payment
	require.NoError(t, json.Unmarshal([]byte(cancelledPaymentJSON), &c))
	require.Equal(t, KRW(9900), c.Amount, "9900.0")
	require.Equal(t, []CancelHistory{{
		PGTID: "np-c-1", Amount: 9900, CancelledAt: 1704153600, Reason: "고객 요청",
		CancellationID: "cncl_01", ReceiptURL: "https://example.test/cancel",
	}}, c.CancelHistory)
}

func TestCustomData_NonString(t *testing.T) {
	t.Parallel()
	var p Payment
	require.NoError(t, json.Unmarshal([]byte(`{"status":"paid","custom_data":{"cycle":3}}`), &p))
	require.Equal(t, `{"cycle":3}`, p.CustomData)
	require.Equal(t, StatusPaid, p.Status, "the other fields still decode")

	var s ScheduleResult
	require.NoError(t, json.Unmarshal([]byte(`{"schedule_status":"scheduled","custom_data":null,"payment_status":null}`), &s))
	require.Empty(t, s.CustomData)
	require.Equal(t, ScheduleScheduled, s.ScheduleStatus)
	require.Equal(t, PaymentStatus(""), s.PaymentStatus)
}

func TestDecodePage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		give string
		want Page[ScheduleResult]
	}{
		{"paged", `{"total":3,"previous":1,"next":0,"list":[{"merchant_uid":"a"}]}`,
			Page[ScheduleResult]{Total: 3, Previous: 1, List: []ScheduleResult{{MerchantUID: "a"}}}},
		{"paged, null list", `{"total":0,"previous":0,"next":0,"list":null}`,
			Page[ScheduleResult]{List: []ScheduleResult{}}},
		{"array", `[{"merchant_uid":"a"},{"merchant_uid":"b"}]`,
			Page[ScheduleResult]{Total: 2, List: []ScheduleResult{{MerchantUID: "a"}, {MerchantUID: "b"}}}},
		{"empty array", `[]`, Page[ScheduleResult]{List: []ScheduleResult{}}},
		{"null", `null`, Page[ScheduleResult]{List: []ScheduleResult{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodePage[ScheduleResult](json.RawMessage(tt.give))
			require.NoError(t, err)
			require.Equal(t, tt.want, *got)
		})
	}
}

func TestPayment_JSONRoundTrip(t *testing.T) {
	t.Parallel()
	// Activities pass payments through Temporal as JSON; nothing may be lost.
	var p Payment
	require.NoError(t, json.Unmarshal([]byte(paidPaymentJSON), &p))
	p.CardType = new(int)
	p.CancelHistory = []CancelHistory{{Amount: 100, CancellationID: "c1"}}
	p.Promotion = &Promotion{ID: "promotion-id-1", Discount: 500}
	b, err := json.Marshal(p)
	require.NoError(t, err)
	var back Payment
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, p, back)

	s := ScheduleResult{MerchantUID: "m", Amount: 9900, CustomData: `{"a":1}`, PaymentStatus: StatusFailed}
	b, err = json.Marshal(s)
	require.NoError(t, err)
	var sback ScheduleResult
	require.NoError(t, json.Unmarshal(b, &sback))
	require.Equal(t, s, sback)
}
