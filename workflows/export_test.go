package workflows

// ChargeRetryInitialInterval is the charge activity's first retry interval, for the sweep to
// check that the rulebook's copy (rulebook.ActivityRetryInterval) still agrees.
var ChargeRetryInitialInterval = writeOptions.RetryPolicy.InitialInterval

// SignalNames are every signal the workflow reads (its message table), for the tests outside
// the package.
var SignalNames = signalNames
