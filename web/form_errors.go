package web

import (
	"errors"
	"strconv"

	"github.com/sigil-auth/sigil/authority"
)

// Form errors: every field of a form is checked before the first error is
// reported, so a person fixes them all in one go. Each message is shown
// next to its field (the template links them with aria-describedby and
// marks the field aria-invalid), and the alert at the top sums them up.

// fieldErrors collects the validation error of each field; errs are the
// results of the domain's validators, one per field.
func fieldErrors(errs ...error) map[string]string {
	out := map[string]string{}
	for _, err := range errs {
		var ve *authority.ValidationError
		if errors.As(err, &ve) {
			if _, seen := out[ve.Field]; !seen {
				out[ve.Field] = fieldLabel(ve.Field) + " " + ve.Reason + "."
			}
		}
	}
	return out
}

// signupErrors checks every field of a sign-up with the same validators
// Signup applies.
func signupErrors(in authority.Signup) map[string]string {
	_, emailErr := authority.NormalizeEmail(in.Email)
	_, nameErr := authority.ValidateName(in.Name)
	return fieldErrors(emailErr, authority.ValidatePassword(in.Password), nameErr)
}

// setErrors puts errs, in the order of fields, on v, with a summary in
// its alert.
func (v *view) setErrors(errs map[string]string, fields ...string) {
	v.Errors = errs
	switch len(errs) {
	case 0:
		return
	case 1:
		v.Alert = "Please correct the field marked below: "
	default:
		v.Alert = "Please correct the " + strconv.Itoa(len(errs)) + " fields marked below: "
	}
	first := true
	for _, f := range fields {
		if msg, ok := errs[f]; ok {
			if !first {
				v.Alert += " "
			}
			v.Alert += msg
			first = false
		}
	}
}
