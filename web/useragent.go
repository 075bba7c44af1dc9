package web

import "strings"

// deviceName names the browser and system of a User-Agent string as
// people say them ("Chrome on Linux", "Safari on iPhone"), for the lists
// of sessions. A string it does not recognise (an API client, a library)
// is returned as it is; the pages show the raw string on hover either way.
func deviceName(ua string) string {
	browser := browserOf(ua)
	if browser == "" {
		return ua
	}
	if system := systemOf(ua); system != "" {
		return browser + " on " + system
	}
	return browser
}

// browserOf names the browser of ua, "" for none it knows. The order
// matters: Chrome's string names Safari too, Edge's and Opera's name
// Chrome.
func browserOf(ua string) string {
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"EdgA/", "Edge"}, {"EdgiOS/", "Edge"},
		{"OPR/", "Opera"}, {"SamsungBrowser/", "Samsung Internet"},
		{"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
		{"CriOS/", "Chrome"}, {"Chrome/", "Chrome"}, {"Chromium/", "Chromium"},
		{"Safari/", "Safari"},
	} {
		if strings.Contains(ua, b.token) {
			return b.name
		}
	}
	return ""
}

// systemOf names the operating system or device of ua, "" for none it
// knows. iPhone and iPad come before Mac OS X, which their strings name
// too; Android before Linux.
func systemOf(ua string) string {
	for _, s := range []struct{ token, name string }{
		{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"},
		{"Windows", "Windows"}, {"CrOS", "ChromeOS"}, {"Macintosh", "macOS"}, {"Mac OS X", "macOS"},
		{"Linux", "Linux"},
	} {
		if strings.Contains(ua, s.token) {
			return s.name
		}
	}
	return ""
}
