package activities

import (
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/portone"
)

// portoneBuyer is the one conversion of the domain's buyer to the client's: charges and
// schedules send the same fields, and a field added to billing.Buyer is added here once.
func portoneBuyer(b billing.Buyer) portone.Buyer {
	return portone.Buyer{Name: b.Name, Tel: b.Tel, Email: b.Email}
}
