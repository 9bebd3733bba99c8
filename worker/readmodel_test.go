package main

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	cfgpkg "github.com/paycycle/paycycle/internal/config"
	"github.com/paycycle/paycycle/reconcile"
)

// TestParseFlagsReadModel: without PAYCYCLE_READMODEL_DSN the projection check has no read model
// (it reports itself skipped); a malformed one refuses to start, naming the variable; a
// well-formed one is not opened at start (a database down then must not stop billing).
func TestParseFlagsReadModel(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
		wantSet bool
	}{
		{name: "unset"},
		{name: "sqlite", env: map[string]string{EnvReadModel: "sqlite:" + filepath.Join(t.TempDir(), "rm.db")}, wantSet: true},
		{name: "postgres, not reachable, not opened", args: []string{"-readmodel", "postgres://u:secret@127.0.0.1:1/rm"}, wantSet: true},
		{name: "no scheme", env: map[string]string{EnvReadModel: "readmodel.db"}, wantErr: "-readmodel (PAYCYCLE_READMODEL_DSN)"},
		{name: "in memory", env: map[string]string{EnvReadModel: "sqlite::memory:"}, wantErr: "-readmodel (PAYCYCLE_READMODEL_DSN)"},
		{name: "postgres URL that does not parse", env: map[string]string{EnvReadModel: "postgres://u:pa%zz@h/db"}, wantErr: "-readmodel (PAYCYCLE_READMODEL_DSN)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"PORTONE_API_KEY": "k", "PORTONE_API_SECRET": "s"}
			for k, v := range tc.env {
				env[k] = v
			}
			c, err := parseFlags(tc.args, io.Discard, cfgpkg.MapLookup(env))
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.NotContains(t, err.Error(), "secret")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantSet, c.readModel.projection() != nil)
		})
	}
}

// TestLazyReadModelComparesARealStore: the worker's adapter opens the SQLite read model at first
// use and answers readmodel's Compare; Repair sets the row from the state.
func TestLazyReadModelComparesARealStore(t *testing.T) {
	ctx := context.Background()
	p := readModelConfig{dsn: "sqlite:" + filepath.Join(t.TempDir(), "rm.db")}.projection()
	t.Cleanup(func() { require.NoError(t, p.(*lazyReadModel).Close()) })
	st := billing.State{SubscriptionID: "sub-lazy", Tag: "ab12", Status: billing.StatusActive, EventSeq: 2,
		Plan: billing.Plan{Name: "Pro", Amount: 9900}, StartedAt: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	d, err := p.Compare(ctx, st.SubscriptionID, st)
	require.NoError(t, err)
	require.Equal(t, []reconcile.ProjectionDifference{{Field: "row", Projection: "none", Workflow: "active"}}, d)
	require.NoError(t, p.Repair(ctx, st))
	d, err = p.Compare(ctx, st.SubscriptionID, st)
	require.NoError(t, err)
	require.Empty(t, d)
}
