-- A text not sent because the business's messaging registration (10DLC) is not approved yet.
alter table messages drop constraint messages_status_check;
alter table messages add constraint messages_status_check check (status in (
    'pending', 'dispatching', 'suppressed', 'held', 'received', 'accepted', 'scheduled',
    'queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'read', 'canceled'));
