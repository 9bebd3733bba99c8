package main

import (
	"errors"
	"fmt"
	"time"

	cfgpkg "github.com/paycycle/paycycle/internal/config"
	"github.com/paycycle/paycycle/internal/nofollow"
	"github.com/paycycle/paycycle/webhooks"
	"github.com/paycycle/paycycle/workerset"
)

// EnvWebhookSecrets holds the Standard Webhooks signing secrets (whsec_…, space-separated; all
// of them sign, so a rotation adds the new one first and removes the old one once receivers
// verify with the new). Secrets come from the environment only.
const EnvWebhookSecrets = "PAYCYCLE_WEBHOOK_SECRETS"

// webhookConfig is the merchant event stream's configuration.
type webhookConfig struct {
	urls           string
	secrets        string
	timeout        time.Duration
	deliveryWindow time.Duration
	taskQueue      string
	renewalNotice  time.Duration

	endpoints []webhooks.Endpoint
	signer    *webhooks.Signer
}

func (w *webhookConfig) register(s *cfgpkg.Set) {
	s.String(&w.urls, "webhook-urls", "BILLING_WEBHOOK_URLS", "",
		"merchant webhook endpoints that receive every subscription event, comma-separated (empty: no event stream); signing secrets in "+EnvWebhookSecrets)
	s.Duration(&w.timeout, "webhook-timeout", "BILLING_WEBHOOK_TIMEOUT", 10*time.Second, "how long one webhook request may take")
	s.Duration(&w.deliveryWindow, "webhook-delivery-window", "BILLING_WEBHOOK_DELIVERY_WINDOW", webhooks.DefaultDeliveryWindow,
		"how long one event is retried before it is marked failed (redeliverable)")
	s.String(&w.taskQueue, "webhook-task-queue", "BILLING_WEBHOOK_TASK_QUEUE", webhooks.DefaultDeliveryTaskQueue,
		"task queue of the webhook delivery activity (its own, so slow receivers never hold a charge)")
	s.Duration(&w.renewalNotice, "renewal-notice", "BILLING_RENEWAL_NOTICE", 72*time.Hour,
		"how long before each renewal charge the renewal.upcoming event is sent (0: never)")
	w.secrets = s.Secret(EnvWebhookSecrets)
}

// validate parses the endpoints and secrets; an endpoint without a secret is refused, since
// unsigned events could not be told from forged ones.
func (w *webhookConfig) validate() error {
	eps, err := webhooks.ParseEndpoints(w.urls)
	if err != nil {
		return fmt.Errorf("-webhook-urls (BILLING_WEBHOOK_URLS): %w", err)
	}
	w.endpoints = eps
	switch {
	case w.timeout <= 0:
		return errors.New("-webhook-timeout (BILLING_WEBHOOK_TIMEOUT) must be positive")
	case w.deliveryWindow < time.Minute:
		return errors.New("-webhook-delivery-window (BILLING_WEBHOOK_DELIVERY_WINDOW) must be at least 1m")
	case w.renewalNotice < 0:
		return errors.New("-renewal-notice (BILLING_RENEWAL_NOTICE) must not be negative")
	case w.taskQueue == "":
		return errors.New("-webhook-task-queue (BILLING_WEBHOOK_TASK_QUEUE) must not be empty")
	}
	if len(eps) == 0 {
		return nil
	}
	if w.signer, err = webhooks.ParseSecrets(w.secrets); err != nil {
		return fmt.Errorf("%s: %w (webhook endpoints are configured, so events must be signed; `starter webhook-secret` makes one)", EnvWebhookSecrets, err)
	}
	return nil
}

// enabled reports whether subscriptions make events.
func (w *webhookConfig) enabled() bool { return len(w.endpoints) > 0 }

// options is the workerset configuration of delivery.
func (w *webhookConfig) options() workerset.Webhooks {
	o := workerset.Webhooks{TaskQueue: w.taskQueue, DeliveryWindow: w.deliveryWindow}
	if w.enabled() {
		o.Deliverer = &webhooks.Deliverer{Endpoints: w.endpoints, Signer: w.signer, Client: nofollow.Client(w.timeout)}
	}
	return o
}
