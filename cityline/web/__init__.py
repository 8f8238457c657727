"""cityline's web console: server-rendered pages for every role, in Chinese and English.

``router`` serves the pages and their static files (vendored htmx and ECharts
included); mount it on the app next to the API routers. Pages read through the
API's handlers and change things through the JSON API, so the console can see
and do exactly what the API allows its user.
"""

from cityline.web.routes import router

__all__ = ["router"]
