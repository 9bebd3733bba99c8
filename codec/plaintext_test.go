package codec_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/codec"
)

func TestReceiptsStayReadableEverythingElseIsEncrypted(t *testing.T) {
	c, _ := newCodec(t, "k1")
	dc := c.DataConverter()
	tests := []struct {
		name  string
		value any
		clear bool
	}{
		{"receipt", billing.Receipt{Message: "subscription canceled", Status: billing.StatusCanceled}, true},
		{"receipt pointer", &billing.Receipt{Message: "resumed"}, true},
		{"input with buyer data", billing.SubscriptionInput{SubscriptionID: "s1", Buyer: billing.Buyer{Tel: "010-1234-5678"}}, false},
		{"cancel request", billing.CancelRequest{Reason: "중도 해지"}, false},
		{"string", "010-1234-5678", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := dc.ToPayload(tt.value)
			require.NoError(t, err)
			enc := string(p.GetMetadata()[converter.MetadataEncoding])
			if tt.clear {
				require.Equal(t, converter.MetadataEncodingJSON, enc)
				// What a CLI without the codec does: the default converter reads it.
				var r billing.Receipt
				require.NoError(t, converter.GetDefaultDataConverter().FromPayload(p, &r))
				require.NotEmpty(t, r.Message)
				return
			}
			require.Equal(t, codec.MetadataEncoding, enc)
			require.NotContains(t, string(p.GetData()), "010-1234-5678")
			require.NotContains(t, string(p.GetData()), "해지")
		})
	}
}

func TestFailureMessagesStayReadableDetailsEncrypted(t *testing.T) {
	c, _ := newCodec(t, "k1")
	fc := c.FailureConverter()
	err := temporal.NewNonRetryableApplicationError("cancel: requester: must be customer or admin, got \"custmer\"",
		billing.ErrorTypeInvalidInput, nil, billing.Buyer{Tel: "010-1234-5678"})
	f := fc.ErrorToFailure(err)
	require.Contains(t, f.GetMessage(), `got "custmer"`, "the message is what the Web UI and the CLI show")
	require.Nil(t, f.GetEncodedAttributes(), "no 'Encoded failure'")
	details := f.GetApplicationFailureInfo().GetDetails().GetPayloads()
	require.Len(t, details, 1)
	require.Equal(t, codec.MetadataEncoding, string(details[0].GetMetadata()[converter.MetadataEncoding]))
	require.False(t, strings.Contains(details[0].String(), "010-1234-5678"))

	back := fc.FailureToError(f)
	var app *temporal.ApplicationError
	require.True(t, errors.As(back, &app))
	var buyer billing.Buyer
	require.NoError(t, app.Details(&buyer))
	require.Equal(t, "010-1234-5678", buyer.Tel)
}
