-- v11: the customers' index of their monthly totals also holds spots and gross, so that every
-- customer's all-time figures (the resolution queue's order, highest gross first) are read from
-- the index alone, in customer order, instead of one table lookup per month and customer.
DROP INDEX customer_total_summary_customer;
CREATE INDEX customer_total_summary_customer ON customer_total_summary (customer_id, broadcast_month, spots, gross);
