package model

// WeChatSession is what WeChat's Code2Session returns for a wx.login code.
type WeChatSession struct {
	OpenID     string
	UnionID    string
	SessionKey string
}

// SubscribeMessage is one WeChat subscribe message to send.
type SubscribeMessage struct {
	ToOpenID         string
	TemplateID       string
	Page             string
	Data             map[string]string
	MiniProgramState string
}
