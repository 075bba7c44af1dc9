package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"strings"
	texttemplate "text/template"
)

//go:embed templates/*.txt templates/*.html
var embedded embed.FS

// Kinds of mail the authority sends; each has NAME.txt (first line
// "Subject: …") and NAME.html in the templates.
var Kinds = []string{"verify-email", "reset-password", "password-changed", "email-change", "email-change-notice", "signup-attempt", "mfa-reset",
	"factor-added", "factor-removed"}

// actions label the button of each kind's HTML part.
var actions = map[string]string{
	"verify-email":   "Confirm my email",
	"reset-password": "Choose a new password",
	"email-change":   "Confirm my new email",
	"signup-attempt": "Reset my password",
}

// Data is what a template sees.
type Data struct {
	Product string
	Name    string
	Email   string
	Link    string
	Expires string
	// Factor names the second factor of factor-added and factor-removed.
	Factor string
	// Set for the HTML part: the subject, the text body's paragraphs
	// (without greeting and link) and the button label.
	Subject    string
	Paragraphs []string
	Action     string
}

// Templates renders mail. Parsed once at start.
type Templates struct {
	text map[string]*texttemplate.Template
	html map[string]*htmltemplate.Template
}

// LoadTemplates parses every kind's templates from the embedded defaults,
// each replaced by the file of the same name in override when it has one
// (override may be nil).
func LoadTemplates(override fs.FS) (*Templates, error) {
	sub, _ := fs.Sub(embedded, "templates")
	read := func(name string) ([]byte, error) {
		if override != nil {
			b, err := fs.ReadFile(override, name)
			if err == nil {
				return b, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
		return fs.ReadFile(sub, name)
	}
	t := &Templates{text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	for _, k := range Kinds {
		b, err := read(k + ".txt")
		if err != nil {
			return nil, fmt.Errorf("mail template %s.txt: %w", k, err)
		}
		if !bytes.HasPrefix(b, []byte("Subject: ")) {
			return nil, fmt.Errorf("mail template %s.txt: the first line must be \"Subject: …\"", k)
		}
		if t.text[k], err = texttemplate.New(k).Option("missingkey=error").Parse(string(b)); err != nil {
			return nil, fmt.Errorf("mail template %s.txt: %w", k, err)
		}
		if b, err = read(k + ".html"); err != nil {
			return nil, fmt.Errorf("mail template %s.html: %w", k, err)
		}
		if t.html[k], err = htmltemplate.New(k).Parse(string(b)); err != nil {
			return nil, fmt.Errorf("mail template %s.html: %w", k, err)
		}
	}
	return t, nil
}

// Render produces the message of kind for d, addressed to to.
func (t *Templates) Render(kind, to string, d Data) (Message, error) {
	tt, ok := t.text[kind]
	if !ok {
		return Message{}, fmt.Errorf("no mail template %q", kind)
	}
	var buf bytes.Buffer
	if err := tt.Execute(&buf, d); err != nil {
		return Message{}, fmt.Errorf("render %s: %w", kind, err)
	}
	first, body, _ := strings.Cut(buf.String(), "\n")
	m := Message{To: to, Subject: strings.TrimSpace(strings.TrimPrefix(first, "Subject: ")), Text: strings.TrimLeft(body, "\n"), Link: d.Link}
	d.Subject, d.Action = m.Subject, actions[kind]
	for _, p := range strings.Split(m.Text, "\n\n") {
		p = strings.TrimSpace(p)
		if p == "" || strings.HasPrefix(p, "Hello") || p == d.Link {
			continue
		}
		d.Paragraphs = append(d.Paragraphs, p)
	}
	buf.Reset()
	if err := t.html[kind].Execute(&buf, d); err != nil {
		return Message{}, fmt.Errorf("render %s.html: %w", kind, err)
	}
	m.HTML = buf.String()
	return m, nil
}
