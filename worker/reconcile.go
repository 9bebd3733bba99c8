package main

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/gateway/portonev1"
	cfgpkg "github.com/paycycle/paycycle/internal/config"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/reconcile"
)

// reconcileConfig is the nightly reconciliation's part of the worker configuration.
type reconcileConfig struct {
	at         string
	overlap    time.Duration
	autoRefund bool
	rate       float64
}

func (r *reconcileConfig) register(s *cfgpkg.Set) {
	s.String(&r.at, "reconcile-at", "BILLING_RECONCILE_AT", reconcile.DefaultAt,
		"time (HH:MM, KST) of the nightly reconciliation against PortOne, run by a Temporal Schedule; off deletes the schedule")
	s.Duration(&r.overlap, "reconcile-overlap", "BILLING_RECONCILE_OVERLAP", reconcile.DefaultOverlap,
		"how far before the previous KST day the nightly window starts, for late status changes")
	s.Bool(&r.autoRefund, "reconcile-auto-refund-duplicates", "BILLING_RECONCILE_AUTO_REFUND_DUPLICATES", false,
		"refund the unrecorded payment of a proven duplicate charge automatically")
	s.Float64(&r.rate, "reconcile-rate", "BILLING_RECONCILE_RATE", reconcile.DefaultRate,
		"PortOne requests per second the reconciliation may make")
}

// schedule is the configuration of the Temporal Schedule the worker keeps in line.
func (r reconcileConfig) schedule(taskQueue string) reconcile.ScheduleConfig {
	return reconcile.ScheduleConfig{At: r.at, TaskQueue: taskQueue, Input: reconcile.Input{
		Overlap: r.overlap, AutoRefundDuplicates: r.autoRefund, Rate: r.rate}}
}

func (r reconcileConfig) validate(taskQueue string) error {
	if r.rate <= 0 {
		return fmt.Errorf("BILLING_RECONCILE_RATE / -reconcile-rate: must be positive, got %g", r.rate)
	}
	return r.schedule(taskQueue).Validate()
}

// registerReconcile adds the Reconcile workflow and its activities to the worker; proj is the
// read model of the projection check (nil: the check reports itself skipped).
// With V2 configured (subs.GatewayV2), reconciliation reads both generations as one
// (reconcile.Generations); a V1-only worker reads V1 directly, so the list cursors a running
// reconciliation heartbeated keep their meaning across the deploy that adds V2's reader.
func registerReconcile(w worker.Registry, c client.Client, v1 *portone.Client, subs *activities.Activities, proj reconcile.Projection, log *zap.Logger) {
	a := &reconcile.Activities{Gateway: portonev1.New(v1), Subscriptions: reconcile.TemporalSubscriptions{Client: c}, Projection: proj, Logger: log.Named("reconcile")}
	if subs.GatewayV2 != nil {
		a.Gateway = reconcile.Generations{a.Gateway, subs.GatewayV2}
	}
	reconcile.Register(w, a)
}

// ensureReconcileSchedule creates or updates the nightly schedule. A failure is logged and does
// not stop the worker: charging matters more than the report, and the next start retries.
func ensureReconcileSchedule(ctx context.Context, c client.Client, cfg reconcileConfig, taskQueue string, log *zap.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	did, err := reconcile.EnsureSchedule(ctx, c, cfg.schedule(taskQueue))
	if err != nil {
		log.Error("reconcile schedule not set up; run 'starter reconcile schedule' or restart", zap.Error(err))
		return
	}
	log.Info("reconcile schedule", zap.String("schedule_id", reconcile.ScheduleID), zap.String("state", did),
		zap.String("at_kst", cfg.at), zap.Duration("overlap", cfg.overlap), zap.Bool("auto_refund_duplicates", cfg.autoRefund), zap.Float64("rate", cfg.rate))
}
