package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"jindalai/model"
	"jindalai/service"
)

func (s *Server) authRoutes(v1 *gin.RouterGroup) {
	v1.POST("/auth/wechat/login", s.login)
	// GET /me authenticates by itself: one Redis round trip for the session
	// and the profile (see Auth.MeByToken).
	v1.GET("/me", s.me)
	authed := v1.Group("", s.authenticate)
	authed.POST("/auth/wechat/phone", s.bindPhone)
	authed.POST("/auth/logout", s.logout)
	authed.PATCH("/me", s.updateMe)
	authed.POST("/me/roles", s.redeemInvite)
	authed.POST("/admin/invites", s.requireRole(model.RoleStationAdmin), s.createInvite)
}

type codeBody struct {
	Code string `json:"code"`
}

func (s *Server) login(c *gin.Context) {
	var in codeBody
	if !s.bindJSON(c, &in) {
		return
	}
	out, err := s.Auth.Login(c.Request.Context(), c.ClientIP(), in.Code)
	s.respond(c, http.StatusOK, out, err)
}

func (s *Server) bindPhone(c *gin.Context) {
	var in codeBody
	if !s.bindJSON(c, &in) {
		return
	}
	out, err := s.Auth.BindPhone(c.Request.Context(), principal(c), in.Code)
	s.respond(c, http.StatusOK, out, err)
}

func (s *Server) logout(c *gin.Context) {
	if err := s.Auth.Logout(c.Request.Context(), principal(c)); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) me(c *gin.Context) {
	token, ok := bearerToken(c)
	if !ok {
		s.fail(c, errLogin())
		return
	}
	p, out, err := s.Auth.MeByToken(c.Request.Context(), token)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Set(ctxPrincipal, p)
	c.JSON(http.StatusOK, out)
}

type profileBody struct {
	Nickname  *string `json:"nickname"`
	AvatarURL *string `json:"avatar_url"`
}

func (s *Server) updateMe(c *gin.Context) {
	var in profileBody
	if !s.bindJSON(c, &in) {
		return
	}
	out, err := s.Auth.UpdateMe(c.Request.Context(), principal(c), service.ProfileUpdate{Nickname: in.Nickname, AvatarURL: in.AvatarURL})
	s.respond(c, http.StatusOK, out, err)
}

type inviteBody struct {
	Role      model.RoleName `json:"role"`
	StationID int64          `json:"station_id"`
	OrgID     int64          `json:"org_id"`
}

func (s *Server) createInvite(c *gin.Context) {
	var in inviteBody
	if !s.bindJSON(c, &in) {
		return
	}
	p, idem, ok := s.callerKey(c, "admin.invites.create", in)
	if !ok {
		return
	}
	out, err := s.Auth.CreateInvite(c.Request.Context(), p, idem, model.Role{Role: in.Role, StationID: in.StationID, OrgID: in.OrgID})
	s.respond(c, http.StatusCreated, out, err)
}

type redeemBody struct {
	InviteCode string `json:"invite_code"`
}

func (s *Server) redeemInvite(c *gin.Context) {
	var in redeemBody
	if !s.bindJSON(c, &in) {
		return
	}
	out, err := s.Auth.RedeemInvite(c.Request.Context(), principal(c), in.InviteCode)
	s.respond(c, http.StatusOK, out, err)
}
