// Package console is the billing team's staff web app: a server-rendered view of the business
// (overview, upcoming charges, queues, revenue per KST month) read from the read model, and a
// subscription page whose actions (cancel, pause, resume, charge now, redeliver events) are the
// workflows' own updates, each confirmed, CSRF-protected and signed with the staff member's
// login in the subscription's audit trail.
//
// Pages are Korean first with English beside, as the customer's self-service page in package
// edge does it, and need no JavaScript. No page opens without a session: staff log in with a
// configured login and bcrypt hash (Staff), through an OpenID Connect provider (OIDCConfig), or
// are named by a company SSO proxy trusted by its address (ProxyConfig),
// and the session lives on the server (a random ID in an HttpOnly, SameSite=Lax cookie, with
// idle and absolute expiry). Roles decide what a session may do: RoleViewer reads, RoleOperator
// acts, RolePII sees the buyer's personal details unmasked. docs/console.md is the operator's
// guide.
//
// The read model only answers what the pages list; the subscription page reads the live state
// from the workflow's state query, and nothing here decides money: a refund previewed is the
// workflow's own rule (billing.State.EndRefund) and the refund made is the workflow's receipt.
package console
