package e2e

import (
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
