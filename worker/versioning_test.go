package main

import (
	"flag"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	cfgpkg "github.com/paycycle/paycycle/internal/config"
)

func TestVersioningFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    worker.DeploymentOptions
		wantErr string
	}{
		{"unversioned by default", nil, worker.DeploymentOptions{}, ""},
		{"both: versioned, auto-upgrade", []string{"-deployment-name", "paycycle", "-build-id", "1.2.0"}, worker.DeploymentOptions{
			UseVersioning: true, Version: worker.WorkerDeploymentVersion{DeploymentName: "paycycle", BuildID: "1.2.0"},
			DefaultVersioningBehavior: workflow.VersioningBehaviorAutoUpgrade}, ""},
		{"pinned", []string{"-deployment-name", "paycycle", "-build-id", "1.2.0", "-default-versioning-behavior", "pinned"}, worker.DeploymentOptions{
			UseVersioning: true, Version: worker.WorkerDeploymentVersion{DeploymentName: "paycycle", BuildID: "1.2.0"},
			DefaultVersioningBehavior: workflow.VersioningBehaviorPinned}, ""},
		{"build ID alone", []string{"-build-id", "1.2.0"}, worker.DeploymentOptions{}, "-build-id \"1.2.0\" needs -deployment-name"},
		{"deployment alone", []string{"-deployment-name", "paycycle"}, worker.DeploymentOptions{}, "-deployment-name \"paycycle\" needs -build-id"},
		{"unknown behaviour", []string{"-deployment-name", "p", "-build-id", "1", "-default-versioning-behavior", "sticky"}, worker.DeploymentOptions{}, "got \"sticky\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v versioningFlags
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			s := cfgpkg.New(fs, cfgpkg.MapLookup(nil))
			v.register(s)
			require.NoError(t, s.Parse(tt.args))
			err := v.validate()
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, v.options())
		})
	}
}

func TestVersioningFromTheEnvironment(t *testing.T) {
	var v versioningFlags
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	s := cfgpkg.New(fs, cfgpkg.MapLookup(map[string]string{
		"BILLING_DEPLOYMENT_NAME": "paycycle", "BILLING_BUILD_ID": "2026.12.01", "BILLING_VERSIONING_BEHAVIOR": "pinned"}))
	v.register(s)
	require.NoError(t, s.Parse(nil))
	require.NoError(t, v.validate())
	o := v.options()
	require.Equal(t, "2026.12.01", o.Version.BuildID)
	require.Equal(t, workflow.VersioningBehaviorPinned, o.DefaultVersioningBehavior)
}
