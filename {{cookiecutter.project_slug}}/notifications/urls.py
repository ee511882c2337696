"""REST routes: the dj_notif endpoint table, plus unread, seen, archive, snooze, delete, counts,
stream, preferences, reader settings and Web Push subscriptions."""

from django.urls import path, re_path

from notifications import views
from notifications.push import views as push_views
from notifications.reader.api import ReaderSettingsView

app_name = "notifications"

urlpatterns = [
    # Personal notifications
    path("notifications/user/", views.NotificationListView.as_view(), name="user-list"),
    path(
        "notifications/user/categories/",
        views.UnreadByCategoryView.as_view(),
        name="user-categories",
    ),
    path("notifications/user/counts/", views.CountsView.as_view(), name="user-counts"),
    path("notifications/events/", views.StreamView.as_view(), name="events"),
    path(
        "notifications/user/unread_count/",
        views.UnreadCountView.as_view(),
        name="user-unread-count",
    ),
    path(
        "notifications/user/mark_all_as_read/",
        views.MarkAllReadView.as_view(),
        name="user-mark-all-read",
    ),
    path(
        "notifications/user/mark_all_seen/",
        views.MarkAllSeenView.as_view(),
        name="user-mark-all-seen",
    ),
    path(
        "notifications/user/archive_all/",
        views.ArchiveAllView.as_view(),
        name="user-archive-all",
    ),
    path(
        "notifications/user/<int:pk>/", views.NotificationDetailView.as_view(), name="user-detail"
    ),
    path("notifications/user/<int:pk>/archive/", views.ArchiveView.as_view(), name="user-archive"),
    path(
        "notifications/user/<int:pk>/unarchive/",
        views.UnarchiveView.as_view(),
        name="user-unarchive",
    ),
    path("notifications/user/snooze/<int:pk>/", views.SnoozeView.as_view(), name="user-snooze"),
    path(
        "notifications/user/unsnooze/<int:pk>/",
        views.UnsnoozeView.as_view(),
        name="user-unsnooze",
    ),
    path(
        "notifications/user/actions/<int:pk>/<int:index>/",
        views.RunActionView.as_view(),
        name="user-run-action",
    ),
    path(
        "notifications/user/<int:pk>/mark_read/",
        views.MarkReadView.as_view(),
        name="user-mark-read",
    ),
    path(
        "notifications/user/<int:pk>/mark_unread/",
        views.MarkUnreadView.as_view(),
        name="user-mark-unread",
    ),
    path(
        "notifications/user/category/<str:category>/",
        views.NotificationListView.as_view(),
        name="user-category-list",
    ),
    # dj_notif's table writes this one without a trailing slash; its router serves both.
    re_path(
        r"^notifications/user/category/(?P<category>[^/]+)/mark_all_read/?$",
        views.MarkAllReadView.as_view(),
        name="user-category-mark-all-read",
    ),
    path(
        "notifications/user/category/<str:category>/mark_read/<int:pk>/",
        views.MarkReadView.as_view(),
        name="user-category-mark-read",
    ),
    # Broadcasts
    path("notifications/broadcast/", views.BroadcastListView.as_view(), name="broadcast-list"),
    path(
        "notifications/broadcast/category/<str:category>/",
        views.BroadcastListView.as_view(),
        name="broadcast-category-list",
    ),
    path(
        "notifications/broadcast/category/<str:category>/mark_read/<int:pk>/",
        views.BroadcastMarkReadView.as_view(),
        name="broadcast-category-mark-read",
    ),
    path(
        "notifications/broadcast/mark_all_read/",
        views.BroadcastMarkAllReadView.as_view(),
        name="broadcast-mark-all-read",
    ),
    path(
        "notifications/broadcast/category/<str:category>/mark_all_read/",
        views.BroadcastMarkAllReadView.as_view(),
        name="broadcast-category-mark-all-read",
    ),
    path(
        "notifications/broadcast/<int:pk>/archive/",
        views.BroadcastArchiveView.as_view(),
        name="broadcast-archive",
    ),
    path(
        "notifications/broadcast/<int:pk>/unarchive/",
        views.BroadcastUnarchiveView.as_view(),
        name="broadcast-unarchive",
    ),
    # Channels per category
    path("notifications/preferences/", views.PreferencesView.as_view(), name="preferences"),
    # Language, time zone and quiet hours
    path("notifications/settings/", ReaderSettingsView.as_view(), name="reader-settings"),
    # Web Push
    path("notifications/push/", push_views.PushStatusView.as_view(), name="push"),
    path(
        "notifications/push/subscribe/",
        push_views.SubscribeView.as_view(),
        name="push-subscribe",
    ),
    path(
        "notifications/push/unsubscribe/",
        push_views.UnsubscribeView.as_view(),
        name="push-unsubscribe",
    ),
    # WebSocket ticket
    path("notifications/ws_auth/", views.WebSocketTicketView.as_view(), name="ws-auth"),
]
