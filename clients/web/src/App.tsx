import { Suspense, lazy, useEffect, useRef } from 'react';
import { Route, Routes, useLocation } from 'react-router-dom';
import Header from './components/Header';
import RequireUser from './components/RequireUser';
import HomePage from './pages/Home';

// Every page but the home page is its own chunk, fetched when first visited.
const SignUpPage = lazy(() => import('./pages/SignUp'));
const SignInPage = lazy(() => import('./pages/SignIn'));
const VerifyPage = lazy(() => import('./pages/Verify'));
const ForgotPasswordPage = lazy(() => import('./pages/ForgotPassword'));
const ResetPasswordPage = lazy(() => import('./pages/ResetPassword'));
const BroadcastPage = lazy(() => import('./pages/Broadcast'));
const DashboardPage = lazy(() => import('./pages/Dashboard'));
const SettingsPage = lazy(() => import('./pages/Settings'));
const AdminPage = lazy(() => import('./pages/Admin'));
const ProfilePage = lazy(() => import('./pages/Profile'));
const NotFoundPage = lazy(() => import('./pages/NotFound'));

/** After a client-side navigation, focus goes to the new page's content (screen readers start there). */
function useFocusOnNavigate() {
  const { pathname } = useLocation();
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    document.getElementById('main')?.focus();
  }, [pathname]);
}

export default function App() {
  useFocusOnNavigate();
  return (
    <>
      <Header />
      <main className="container" id="main" tabIndex={-1}>
        <Suspense fallback={<p role="status">Loading…</p>}>
          <Routes>
            <Route path="/" element={<HomePage />} />
            <Route path="/signup" element={<SignUpPage />} />
            <Route path="/signin" element={<SignInPage />} />
            <Route path="/verify" element={<VerifyPage />} />
            <Route path="/forgot-password" element={<ForgotPasswordPage />} />
            <Route path="/reset-password" element={<ResetPasswordPage />} />
            <Route path="/broadcasts/:id" element={<BroadcastPage />} />
            <Route path="/users/:username" element={<ProfilePage />} />
            <Route
              path="/dashboard"
              element={
                <RequireUser>
                  <DashboardPage />
                </RequireUser>
              }
            />
            <Route
              path="/settings"
              element={
                <RequireUser>
                  <SettingsPage />
                </RequireUser>
              }
            />
            <Route
              path="/admin"
              element={
                <RequireUser permission={['any_user_account', 'read']}>
                  <AdminPage />
                </RequireUser>
              }
            />
            <Route path="*" element={<NotFoundPage />} />
          </Routes>
        </Suspense>
      </main>
      <footer className="container footer">LiveStreamer · live audio, chat and every set kept</footer>
    </>
  );
}
