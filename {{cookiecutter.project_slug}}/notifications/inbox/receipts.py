"""Broadcast receipts: one row per user and broadcast that says it was read or archived."""

from django.db import transaction
from django.utils import timezone

from notifications import categories, selectors
from notifications.models import Broadcast, BroadcastReceipt, EventKind
from notifications.serializers import broadcast_payload
from notifications.stream import bulk, events, positions
from notifications.users import UserRef, user_id_of

# Broadcast ids one event names: its frame stays far below the socket's message limit.
MAX_IDS_PER_EVENT = 1000


def lock_receipts(user_id: int) -> None:
    """Take the user's stream head before reading or writing their broadcast receipts.

    Every receipt write of the user does, so they run one at a time: what one reads as
    unread is still unread when it inserts, and its event names exactly what it changed.
    The head is the lock the write's event takes anyway, so no new lock order appears.
    """
    positions.lock_heads([user_id])


def mark_broadcast_read(
    broadcast_id: int, user: UserRef, category: str | None = None
) -> BroadcastReceipt:
    """Record that the user read a broadcast, of `category` when given.

    Reading it again keeps the first time; a missing broadcast is Broadcast.DoesNotExist.
    """
    user_id = user_id_of(user)
    broadcasts = Broadcast.objects.current()
    if category is not None:
        broadcasts = broadcasts.filter(category=categories.get(category).name)
    with transaction.atomic():
        lock_receipts(user_id)
        broadcast = broadcasts.get(pk=broadcast_id)
        receipt, created = BroadcastReceipt.objects.get_or_create(
            broadcast=broadcast, user_id=user_id
        )
        if created:
            events.send_on_commit(EventKind.BROADCAST_READ, [(user_id, {"ids": [broadcast.pk]})])
    return receipt


def mark_all_broadcasts_read(user: UserRef, category: str | None = None) -> int:
    """Record that the user read every current broadcast, optionally of one category.

    One `broadcast_read` event names the broadcasts this call marked (one per
    MAX_IDS_PER_EVENT of them); those read before are left as they are.
    """
    user_id = user_id_of(user)
    if category is not None:
        categories.get(category)
    with transaction.atomic():
        lock_receipts(user_id)
        unread = selectors.broadcasts_for(user_id, category=category, unread=True, archived=None)
        ids = list(unread.order_by("id").values_list("id", flat=True))
        now = timezone.now()
        BroadcastReceipt.objects.bulk_create(
            [BroadcastReceipt(broadcast_id=pk, user_id=user_id, read_at=now) for pk in ids],
            batch_size=bulk.BATCH_SIZE,
        )
        events.send_on_commit(
            EventKind.BROADCAST_READ,
            [(user_id, {"ids": chunk}) for chunk in bulk.batches(ids, MAX_IDS_PER_EVENT)],
        )
    return len(ids)


def archive_broadcast(broadcast_id: int, user: UserRef) -> BroadcastReceipt:
    """Move a broadcast out of the user's inbox into their archive; it is read from then on.

    A `broadcast_read` event comes first when it was unread, then `broadcast_archived`.
    A missing broadcast is Broadcast.DoesNotExist.
    """
    user_id = user_id_of(user)
    with transaction.atomic():
        lock_receipts(user_id)
        broadcast = Broadcast.objects.current().get(pk=broadcast_id)
        now = timezone.now()
        receipt, created = BroadcastReceipt.objects.get_or_create(
            broadcast=broadcast, user_id=user_id, defaults={"read_at": now, "archived_at": now}
        )
        changes: list[events.Change] = []
        if created:
            changes.append((EventKind.BROADCAST_READ, user_id, {"ids": [broadcast.pk]}))
        elif receipt.archived_at is None:
            receipt.archived_at = now
            receipt.save(update_fields=["archived_at"])
        else:
            return receipt
        changes.append((EventKind.BROADCAST_ARCHIVED, user_id, {"ids": [broadcast.pk]}))
        events.send_all_on_commit(changes)
    return receipt


def unarchive_broadcast(broadcast_id: int, user: UserRef) -> BroadcastReceipt | None:
    """Bring a broadcast the user archived back to their inbox, still read.

    The event carries the broadcast whole, so a client can show it again. One not
    archived is left alone (None when the user never read it); a missing one is
    Broadcast.DoesNotExist.
    """
    user_id = user_id_of(user)
    with transaction.atomic():
        lock_receipts(user_id)
        broadcast = Broadcast.objects.current().get(pk=broadcast_id)
        receipt = BroadcastReceipt.objects.filter(broadcast=broadcast, user_id=user_id).first()
        if receipt is not None and receipt.archived_at is not None:
            receipt.archived_at = None
            receipt.save(update_fields=["archived_at"])
            payload = {"ids": [broadcast.pk], "broadcast": broadcast_payload(broadcast)}
            events.send_on_commit(EventKind.BROADCAST_UNARCHIVED, [(user_id, payload)])
    return receipt
