"""A Content Security Policy on every response: everything from this server, no inline scripts."""

from __future__ import annotations

POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
          "form-action 'self'; frame-ancestors 'none'")


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", POLICY)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response


#: What may be compressed on the way out: files and figures that hold no secret of the session.
COMPRESSED_PATHS = ("/static/", "/chart/", "/api/")


class CompressOpenContent:
    """Gzip the style sheets, scripts, chart drawings and the open directory API (a figure page's style
    sheet is 141 KB, 20 KB compressed), never a page or an export: a compressed response that carries a
    secret (the form's CSRF token, a session's figures beside text an attacker chooses) leaks it through
    its length (BREACH), so pages are sent as they are."""

    def __init__(self, get_response):
        from django.middleware.gzip import GZipMiddleware

        self.get_response = get_response
        self.gzip = GZipMiddleware(get_response)

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(COMPRESSED_PATHS) and response.status_code == 200:
            response = self.gzip.process_response(request, response)
        return response
