package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/paycycle/paycycle/billing"
	cfgpkg "github.com/paycycle/paycycle/internal/config"
	"github.com/paycycle/paycycle/readmodel"
	"github.com/paycycle/paycycle/reconcile"
)

// EnvReadModel names the read model's database, the same variable the console server reads.
const EnvReadModel = "PAYCYCLE_READMODEL_DSN"

// readModelConfig is the read model the nightly reconciliation compares with every workflow's
// state (reconcile's projection check). Unset: the check reports itself skipped.
type readModelConfig struct {
	dsn string
}

func (r *readModelConfig) register(s *cfgpkg.Set) {
	s.String(&r.dsn, "readmodel", EnvReadModel, "",
		`the read model's database ("sqlite:<path>" or "postgres://…"), for reconciliation's projection check (empty: skipped)`)
}

// validate refuses a malformed setting at start; the database itself is opened at the first
// reconciliation, so that a read model down when the worker starts never stops billing.
func (r readModelConfig) validate() error {
	if r.dsn == "" {
		return nil
	}
	if err := readmodel.CheckDSN(r.dsn); err != nil {
		return fmt.Errorf("-readmodel (%s): %w", EnvReadModel, err)
	}
	return nil
}

// projection is the worker's reconcile.Projection, or nil without a read model.
func (r readModelConfig) projection() reconcile.Projection {
	if r.dsn == "" {
		return nil
	}
	return &lazyReadModel{dsn: r.dsn}
}

// lazyReadModel opens the read model on first use, and again after a failed open, so that a
// database unreachable for a night is reported by that night's check (as errors) and used the
// next.
type lazyReadModel struct {
	dsn   string
	mu    sync.Mutex
	store *readmodel.Store
}

var _ reconcile.Projection = (*lazyReadModel)(nil)

func (l *lazyReadModel) open(ctx context.Context) (*readmodel.Store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.store != nil {
		return l.store, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := readmodel.Open(ctx, l.dsn)
	if err != nil {
		return nil, err
	}
	l.store = s
	return s, nil
}

// Compare implements reconcile.Projection with readmodel.Store.Compare.
func (l *lazyReadModel) Compare(ctx context.Context, id string, st billing.State) ([]reconcile.ProjectionDifference, error) {
	s, err := l.open(ctx)
	if err != nil {
		return nil, err
	}
	diffs, err := s.Compare(ctx, id, st)
	if err != nil {
		return nil, err
	}
	out := make([]reconcile.ProjectionDifference, 0, len(diffs))
	for _, d := range diffs {
		out = append(out, reconcile.ProjectionDifference{Field: d.Field, Projection: d.Projection, Workflow: d.Workflow})
	}
	return out, nil
}

// Repair implements reconcile.Projection with readmodel.Store.ApplyState, the state read now.
func (l *lazyReadModel) Repair(ctx context.Context, st billing.State) error {
	s, err := l.open(ctx)
	if err != nil {
		return err
	}
	return s.ApplyState(ctx, st, time.Now())
}

// Close closes the database if it was opened.
func (l *lazyReadModel) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.store == nil {
		return nil
	}
	err := l.store.Close()
	l.store = nil
	return err
}
