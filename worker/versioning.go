package main

import (
	"fmt"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	cfgpkg "github.com/paycycle/paycycle/internal/config"
)

// versioningFlags opt the worker into Worker Versioning: a deployment name and a build ID
// (both, or neither: an unversioned worker, as before). See README, "Safe deploys".
type versioningFlags struct {
	deploymentName string
	buildID        string
	behavior       string
}

// Versioning behaviours accepted by -default-versioning-behavior.
const (
	behaviorAutoUpgrade = "auto-upgrade"
	behaviorPinned      = "pinned"
)

func (v *versioningFlags) register(s *cfgpkg.Set) {
	s.String(&v.deploymentName, "deployment-name", "BILLING_DEPLOYMENT_NAME", "",
		"Worker Versioning deployment name, the same for every build (empty with -build-id: unversioned)")
	s.String(&v.buildID, "build-id", "BILLING_BUILD_ID", "", "Worker Versioning build ID of this binary, e.g. the image tag")
	s.String(&v.behavior, "default-versioning-behavior", "BILLING_VERSIONING_BEHAVIOR", behaviorAutoUpgrade,
		"auto-upgrade: running subscriptions move to the current version at their next task; pinned: they stay on their build until continue-as-new")
}

func (v *versioningFlags) validate() error {
	switch {
	case v.deploymentName == "" && v.buildID != "":
		return fmt.Errorf("-build-id %q needs -deployment-name (env BILLING_DEPLOYMENT_NAME) too", v.buildID)
	case v.deploymentName != "" && v.buildID == "":
		return fmt.Errorf("-deployment-name %q needs -build-id (env BILLING_BUILD_ID) too", v.deploymentName)
	case v.behavior != behaviorAutoUpgrade && v.behavior != behaviorPinned:
		return fmt.Errorf("-default-versioning-behavior must be %q or %q, got %q", behaviorAutoUpgrade, behaviorPinned, v.behavior)
	}
	return nil
}

// options returns the SDK's deployment options; the zero value (unversioned) without flags.
func (v *versioningFlags) options() worker.DeploymentOptions {
	if v.deploymentName == "" {
		return worker.DeploymentOptions{}
	}
	behavior := workflow.VersioningBehaviorAutoUpgrade
	if v.behavior == behaviorPinned {
		behavior = workflow.VersioningBehaviorPinned
	}
	return worker.DeploymentOptions{
		UseVersioning:             true,
		Version:                   worker.WorkerDeploymentVersion{DeploymentName: v.deploymentName, BuildID: v.buildID},
		DefaultVersioningBehavior: behavior,
	}
}
