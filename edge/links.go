package edge

import (
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/signedlink"
)

// verifyLink checks the {token} of a registration or self-service route and answers the
// customer itself when it does not open purpose's page: 400 for something that is not a link
// (cut short in a copy-paste), 403 for a link that does not verify or is another page's, 410 for
// an expired one, 503 when no secret is configured. Nothing about any subscription is shown on
// those pages, so a failed guess learns nothing. ok is false when the answer was written.
func (s *Server) verifyLink(w http.ResponseWriter, r *http.Request, purpose signedlink.Purpose) (signedlink.Link, bool) {
	if s.keys == nil {
		s.renderMessage(w, http.StatusServiceUnavailable, messagePage{
			HeadingKo: "지금은 이 링크를 열 수 없습니다.", HeadingEn: "This link cannot be opened right now.",
			TextKo: "서비스 설정이 끝나지 않았습니다. 판매자에게 문의해 주세요.",
			TextEn: "The service is not fully set up yet; please contact the merchant.",
		})
		return signedlink.Link{}, false
	}
	l, err := s.keys.Verify(r.PathValue("token"), purpose, s.now())
	if err == nil && billing.ValidateSubscriptionID(l.SubscriptionID) != nil {
		// Genuine but naming no possible subscription: only a minting bug can do this.
		err = signedlink.ErrMalformed
	}
	switch {
	case err == nil:
		return l, true
	case errors.Is(err, signedlink.ErrExpired):
		s.renderMessage(w, http.StatusGone, messagePage{
			HeadingKo: "링크의 유효 기간이 지났습니다.", HeadingEn: "This link has expired.",
			TextKo: "보안을 위해 링크는 일정 기간만 열 수 있습니다. 판매자에게 새 링크를 요청해 주세요.",
			TextEn: "For your security, links work only for a limited time. Please ask the merchant for a new one.",
		})
	case errors.Is(err, signedlink.ErrBadSignature), errors.Is(err, signedlink.ErrWrongPurpose):
		// Worth a warning: a forged or altered link is somebody trying. The token is not logged:
		// a genuine one is a bearer credential.
		s.log.Warn("link refused", zap.String("route", routeOf(r)), zap.String("why", err.Error()))
		s.renderMessage(w, http.StatusForbidden, messagePage{
			HeadingKo: "확인할 수 없는 링크입니다.", HeadingEn: "This link could not be verified.",
			TextKo: "링크가 변경되었거나 이 페이지의 링크가 아닙니다. 받으신 링크를 그대로 열어 주세요.",
			TextEn: "The link was altered or is not for this page. Please open the link exactly as you received it.",
		})
	default:
		s.renderBadLink(w)
	}
	return signedlink.Link{}, false
}

func (s *Server) renderBadLink(w http.ResponseWriter) {
	s.renderMessage(w, http.StatusBadRequest, messagePage{
		HeadingKo: "링크가 올바르지 않습니다.", HeadingEn: "This link is incomplete.",
		TextKo: "링크의 일부가 빠진 것 같습니다. 받으신 링크를 그대로 열어 주세요.",
		TextEn: "Part of the link seems to be missing. Please open the link exactly as you received it.",
	})
}

// handleBareLink is GET /register and GET /manage without a token, including the old
// /register?subscription_id= form, which is no longer honoured: a subscription ID alone must
// open nothing.
func (s *Server) handleBareLink(w http.ResponseWriter, _ *http.Request) { s.renderBadLink(w) }

// signedLink returns the path (with the public URL's prefix) of a new signed link, for the
// edge's own redirects.
func (s *Server) signedLink(purpose signedlink.Purpose, subscriptionID string, ttl time.Duration) (string, error) {
	now := s.now()
	tok, err := s.keys.Sign(purpose, subscriptionID, now.Add(ttl), now)
	if err != nil {
		return "", err
	}
	return s.link(purpose.Route() + tok), nil
}
