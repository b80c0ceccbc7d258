-- The owner's live feed is written by the database itself, in the same transaction as the change:
-- whatever code path records a call, a text, a status or an appointment, the event cannot be
-- forgotten, and NOTIFY (from the events trigger) fires only once it is committed.

create or replace function nmc_emit_event() returns trigger language plpgsql as $$
declare
    kind text;
    data jsonb;
begin
    if TG_TABLE_NAME = 'calls' then
        if TG_OP = 'UPDATE' and new.status is not distinct from old.status then return new; end if;
        kind := case when TG_OP = 'INSERT' then 'call.created' else 'call.updated' end;
        data := jsonb_build_object('id', new.id, 'status', new.status, 'is_after_hours', new.is_after_hours, 'lead_id', new.lead_id);
    elsif TG_TABLE_NAME = 'messages' then
        if TG_OP = 'UPDATE' and new.status is not distinct from old.status and new.conversation_id is not distinct from old.conversation_id then return new; end if;
        kind := case when TG_OP = 'INSERT' then 'message.created' else 'message.updated' end;
        data := jsonb_build_object('id', new.id, 'conversation_id', new.conversation_id, 'lead_id', new.lead_id, 'direction', new.direction,
                                   'sender', new.sender, 'kind', new.kind, 'status', new.status, 'body', new.body, 'created_at', new.created_at);
    elsif TG_TABLE_NAME = 'leads' then
        if TG_OP = 'UPDATE' and (new.status, new.name, new.address, new.service_needed, new.urgency, new.notes)
            is not distinct from (old.status, old.name, old.address, old.service_needed, old.urgency, old.notes) then return new; end if;
        kind := case when TG_OP = 'INSERT' then 'lead.created' else 'lead.updated' end;
        data := jsonb_build_object('id', new.id, 'status', new.status, 'name', new.name, 'service_needed', new.service_needed, 'urgency', new.urgency);
    elsif TG_TABLE_NAME = 'conversations' then
        if TG_OP = 'UPDATE' and (new.status, new.mode, new.emergency, new.needs_owner)
            is not distinct from (old.status, old.mode, old.emergency, old.needs_owner) then return new; end if;
        kind := case when TG_OP = 'INSERT' then 'conversation.created' else 'conversation.updated' end;
        data := jsonb_build_object('id', new.id, 'lead_id', new.lead_id, 'status', new.status, 'mode', new.mode,
                                   'emergency', new.emergency, 'needs_owner', new.needs_owner);
    elsif TG_TABLE_NAME = 'appointments' then
        if TG_OP = 'UPDATE' and new.version is not distinct from old.version then return new; end if;
        kind := case when TG_OP = 'INSERT' then 'appointment.created' else 'appointment.updated' end;
        data := jsonb_build_object('id', new.id, 'status', new.status, 'start', lower(new.during), 'end', upper(new.during),
                                   'service_name', new.service_name, 'customer_name', new.customer_name);
    elsif TG_TABLE_NAME = 'notifications' then
        if new.kind <> 'emergency' then return new; end if;
        kind := 'emergency';
        data := jsonb_build_object('id', new.id, 'conversation_id', new.conversation_id, 'body', new.body);
    else
        return new;
    end if;
    insert into events (business_id, kind, data) values (new.business_id, kind, data);
    return new;
end $$;

do $$
declare t text;
begin
    foreach t in array array['calls', 'messages', 'leads', 'conversations', 'appointments', 'notifications']
    loop
        execute format('create trigger %I after insert or update on %I for each row execute function nmc_emit_event()', t || '_events', t);
    end loop;
end $$;

-- The feed keeps a week; older events are for the reports, not the live view.
create index events_created on events (created_at);
