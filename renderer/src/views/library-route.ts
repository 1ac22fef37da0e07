import { getRouteApi } from '@tanstack/react-router';

/** The library route's typed search (`?folder=`), without importing the router (no cycle). */
export const libraryRoute = getRouteApi('/library');
