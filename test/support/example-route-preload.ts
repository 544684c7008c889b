/** Adds the README's example route to the route table, as the README's one-entry edit would. */
import { Route, routes } from "../../infra/routes";
import { getItemSummaryRoute } from "./example-route";

(routes as Route[]).push(getItemSummaryRoute);
