package workflows_test

import (
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/billing"
)

type workflowContinueAsNew = workflow.ContinueAsNewError

func workflowRegisterOptions() workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: billing.WorkflowType}
}

// decodeCANInput decodes the single input a continue-as-new carries.
func decodeCANInput(can *workflow.ContinueAsNewError, v any) error {
	return converter.GetDefaultDataConverter().FromPayloads(can.Input, v)
}
