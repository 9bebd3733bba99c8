package localtemporal

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/paycycle/paycycle/billing"
)

// namespaceCacheRefresh is the server's default system.namespaceCacheRefreshInterval: how long
// the history and matching services may take to see a namespace change.
const namespaceCacheRefresh = 2 * time.Second

// searchAttributeTypes maps definitions to Temporal's indexed value types. The type names are the
// temporal CLI's (Keyword, Text, Int, Double, Bool, Datetime, KeywordList), as in billing.
func searchAttributeTypes(defs []billing.SearchAttributeDef) (map[string]enumspb.IndexedValueType, error) {
	out := make(map[string]enumspb.IndexedValueType, len(defs))
	for _, d := range defs {
		if d.Name == "" {
			return nil, fmt.Errorf("localtemporal: search attribute with an empty name")
		}
		t, err := enumspb.IndexedValueTypeFromString(d.Type)
		if err != nil || t == enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED {
			return nil, fmt.Errorf("localtemporal: search attribute %s: unknown type %q (want Keyword, Text, Int, Double, Bool, Datetime or KeywordList)", d.Name, d.Type)
		}
		if prev, dup := out[d.Name]; dup && prev != t {
			return nil, fmt.Errorf("localtemporal: search attribute %s is listed twice with different types", d.Name)
		}
		out[d.Name] = t
	}
	return out, nil
}

// prepareNamespace waits for the frontend, then makes the namespace's retention and search
// attributes match the options. It works through the public API, so it also covers a namespace
// created by an earlier run with fewer attributes.
func (s *Server) prepareNamespace(ctx context.Context) error {
	timeout := s.opts.StartTimeout
	var admin client.Client
	err := waitFor(ctx, timeout, "connect to the Temporal frontend at "+s.frontendAddr, func(ctx context.Context) error {
		c, err := client.DialContext(ctx, client.Options{
			HostPort:  s.frontendAddr,
			Namespace: s.opts.Namespace,
			Logger:    s.logs.sdkLogger,
			Identity:  "localtemporal",
		})
		if err != nil {
			return err
		}
		admin = c
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w (server log: %s)", err, s.logFile)
	}
	s.admin = admin
	ns := s.opts.Namespace

	var desc *workflowservice.DescribeNamespaceResponse
	err = waitFor(ctx, timeout, "describe namespace "+ns, func(ctx context.Context) error {
		var err error
		desc, err = admin.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
		return err
	})
	if err != nil {
		return err
	}
	if desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration() != s.opts.Retention {
		_, err := admin.WorkflowService().UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
			Namespace: ns,
			Config:    &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(s.opts.Retention)},
		})
		if err != nil {
			return fmt.Errorf("localtemporal: set retention of namespace %q to %s: %w", ns, s.opts.Retention, err)
		}
	}
	return s.registerSearchAttributes(ctx, admin)
}

// registerSearchAttributes adds the missing search attributes and refuses type conflicts.
func (s *Server) registerSearchAttributes(ctx context.Context, admin client.Client) error {
	want, err := searchAttributeTypes(s.opts.SearchAttributes)
	if err != nil || len(want) == 0 {
		return err
	}
	ns := s.opts.Namespace
	have, err := listCustomSearchAttributes(ctx, admin, ns)
	if err != nil {
		return err
	}
	missing := map[string]enumspb.IndexedValueType{}
	var conflicts []string
	for name, t := range want {
		got, ok := have[name]
		switch {
		case !ok:
			missing[name] = t
		case got != t:
			conflicts = append(conflicts, fmt.Sprintf("%s is %s, want %s", name, typeName(got), typeName(t)))
		}
	}
	if len(conflicts) > 0 {
		slices.Sort(conflicts)
		return fmt.Errorf("localtemporal: namespace %q has search attributes of the wrong type (%s); "+
			"a type cannot change, so reset the data dir %s", ns, strings.Join(conflicts, "; "), s.opts.DataDir)
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = admin.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        ns,
		SearchAttributes: missing,
	})
	if err != nil {
		return fmt.Errorf("localtemporal: register search attributes on namespace %q: %w", ns, err)
	}
	err = waitFor(ctx, s.opts.StartTimeout, "see the new search attributes", func(ctx context.Context) error {
		have, err := listCustomSearchAttributes(ctx, admin, ns)
		if err != nil {
			return err
		}
		for name := range missing {
			if _, ok := have[name]; !ok {
				return fmt.Errorf("search attribute %s not listed yet", name)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The frontend sees the change at once; history and matching refresh their namespace cache
	// on a timer. Waiting one period makes the attributes usable by workflows when Start returns.
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(namespaceCacheRefresh + 500*time.Millisecond):
	}
	return nil
}

func listCustomSearchAttributes(ctx context.Context, admin client.Client, ns string) (map[string]enumspb.IndexedValueType, error) {
	resp, err := admin.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		return nil, fmt.Errorf("localtemporal: list search attributes of namespace %q: %w", ns, err)
	}
	return resp.GetCustomAttributes(), nil
}

// typeName spells a type the way the temporal CLI and billing.SearchAttributes do (Keyword, Int).
func typeName(t enumspb.IndexedValueType) string { return t.String() }
