package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"jindalai/model"
)

// notificationsRoutes registers the subscribe grants and the in-app inbox
// (issue 7). Every signed-in user has an inbox.
func (s *Server) notificationsRoutes(v1 *gin.RouterGroup) {
	authed := v1.Group("", s.authenticate)
	authed.GET("/me/subscriptions", s.listSubscriptions)
	authed.POST("/me/subscriptions", s.subscribe)
	authed.GET("/me/messages", s.listMessages)
	authed.POST("/me/messages/read-all", s.readAllMessages)
	authed.POST("/me/messages/:id/read", s.readMessage)
}

type subscribeBody struct {
	TemplateIDs []string `json:"template_ids"`
}

type grantsReply struct {
	Items []model.SubscriptionGrant `json:"items"`
}

func (s *Server) subscribe(c *gin.Context) {
	var in subscribeBody
	if !s.bindJSON(c, &in) {
		return
	}
	p, idem, ok := s.callerKey(c, "subscriptions", in)
	if !ok {
		return
	}
	out, err := s.Notifications.Subscribe(c.Request.Context(), p, in.TemplateIDs, idem)
	s.respond(c, http.StatusOK, grantsReply{Items: out}, err)
}

func (s *Server) listSubscriptions(c *gin.Context) {
	out, err := s.Notifications.Subscriptions(c.Request.Context(), principal(c))
	s.respond(c, http.StatusOK, grantsReply{Items: out}, err)
}

func (s *Server) listMessages(c *gin.Context) {
	page, err := pageOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	unread, err := unreadOnlyParam(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.Notifications.Inbox(c.Request.Context(), principal(c), page, unread)
	s.respond(c, http.StatusOK, out, err)
}

func (s *Server) readMessage(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	out, err := s.Notifications.MarkRead(c.Request.Context(), principal(c), id)
	s.respond(c, http.StatusOK, out, err)
}

func (s *Server) readAllMessages(c *gin.Context) {
	n, err := s.Notifications.MarkAllRead(c.Request.Context(), principal(c))
	s.respond(c, http.StatusOK, gin.H{"marked": n}, err)
}

// unreadOnlyParam reads ?unread= (true|false, default false).
func unreadOnlyParam(c *gin.Context) (bool, error) {
	switch c.Query("unread") {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, model.InvalidField("unread", "必须是 true 或 false")
}
