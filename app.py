"""The Chalice app: created here, its blueprints registered; everything that runs lives in chalicelib."""

from __future__ import annotations

import os

from chalice import Chalice

from chalicelib.handlers import (
    api_admin,
    api_admin_directives,
    api_agencies,
    api_catalogue,
    api_dev,
    api_dossiers,
    api_notifications,
    api_payments,
    api_postal,
    api_reports,
    api_system,
    api_uploads,
    boundary,
    events,
    notify_events,
    postal_events,
    spreadsheet,
    telemetry,
)

app = Chalice(app_name="dvc-cloud")
app.api.binary_types.append(spreadsheet.XLSX)  # report exports: API Gateway passes them through as bytes
app.register_blueprint(telemetry.bp)  # first, so outermost: logs, traces and correlation ids of every function
app.register_blueprint(boundary.bp)  # the input policy and error shape every route inherits
app.register_blueprint(api_system.bp)
app.register_blueprint(api_dossiers.bp)
app.register_blueprint(api_payments.bp)
app.register_blueprint(api_reports.bp)
app.register_blueprint(api_agencies.bp)
app.register_blueprint(api_catalogue.bp)
app.register_blueprint(api_admin.bp)
app.register_blueprint(api_admin_directives.bp)
app.register_blueprint(api_uploads.bp)
app.register_blueprint(events.bp)
app.register_blueprint(api_postal.bp)  # the postal partners' callbacks, the postal work queue
app.register_blueprint(postal_events.bp)  # the postal consumer
app.register_blueprint(api_notifications.bp)
app.register_blueprint(notify_events.bp)
if os.environ.get("DVC_STAGE", "local") == "local":
    app.register_blueprint(api_dev.bp)  # development tokens never exist outside the local stage
