package temporalconn

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/paycycle/paycycle/billing"
)

// SearchAttributeTypes returns the project's search attributes (billing.SearchAttributes) with
// their Temporal index types, as the operator service wants them.
func SearchAttributeTypes() (map[string]enumspb.IndexedValueType, error) {
	out := make(map[string]enumspb.IndexedValueType, len(billing.SearchAttributes))
	for _, sa := range billing.SearchAttributes {
		t, err := enumspb.IndexedValueTypeFromString(sa.Type)
		if err != nil {
			return nil, fmt.Errorf("search attribute %s: unknown type %q", sa.Name, sa.Type)
		}
		out[sa.Name] = t
	}
	return out, nil
}

// RegisterSearchAttributes registers the project's search attributes on namespace, leaving
// those already registered alone. A name registered with another type is an error: the
// workflow's upserts would fail on it.
func RegisterSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	want, err := SearchAttributeTypes()
	if err != nil {
		return err
	}
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes of %q: %w", namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, t := range want {
		got, ok := have.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = t
		case got != t:
			return fmt.Errorf("search attribute %s is registered as %s on %q, the workflow needs %s", name, got, namespace, t)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	}); err != nil {
		return fmt.Errorf("register search attributes on %q: %w", namespace, err)
	}
	return nil
}
