package e2e

import (
	"bytes"
	"sync"

	"go.temporal.io/sdk/client"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
)

func clientStartOptions(id string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{ID: billing.WorkflowID(id), TaskQueue: billing.TaskQueue, WorkflowExecutionErrorWhenAlreadyStarted: true}
}

func portonetest_secret() string { return portonetest.DefaultSecret }

func againRequest(customerUID, merchantUID string) portone.AgainRequest {
	return portone.AgainRequest{CustomerUID: customerUID, MerchantUID: merchantUID, Amount: 9900, Name: "forged"}
}

// syncBuffer is a bytes.Buffer safe for a process writing and a test reading.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
